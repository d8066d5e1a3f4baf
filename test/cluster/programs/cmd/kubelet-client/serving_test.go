package main

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	kubeletconfig "k8s.io/kubernetes/pkg/kubelet/apis/config"
)

// A restart builds the server certificate manager again in the same process: without the
// previous manager's metrics removed, NewKubeletServerCertificateManager panics ("duplicate
// metrics collector registration attempted").
func TestServerCertificateManagerTwiceInOneProcess(t *testing.T) {
	files := &kubeletFiles{config: &kubeletconfig.KubeletConfiguration{ServerTLSBootstrap: true}}
	addresses := []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "198.18.0.21"}}
	dir := t.TempDir()
	for session := 1; session <= 3; session++ {
		if _, err := newServerCertificateManager(nil, files, "worker-1", addresses, dir); err != nil {
			t.Fatalf("session %d: %v", session, err)
		}
	}
	if removed := unregisterServerCertificateMetrics(); removed != len(serverCertificateMetrics) {
		t.Fatalf("the last manager's metrics: removed %d, want %d", removed, len(serverCertificateMetrics))
	}
}
