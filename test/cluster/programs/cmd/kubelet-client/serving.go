package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/certificate"
	"k8s.io/component-base/metrics/legacyregistry"
	kubeletcertificate "k8s.io/kubernetes/pkg/kubelet/certificate"
	kubeletmetrics "k8s.io/kubernetes/pkg/kubelet/metrics"
)

// startServingManager starts the kubelet's server certificate manager as the kubelet does with
// serverTLSBootstrap (cmd/kubelet/app/server.go → pkg/kubelet/kubelet.go): kubelet-serving
// CSRs for the node's own name and addresses, sent with the kubelet's client, the certificate
// stored as kubelet-server-<time>.pem and kubelet-server-current.pem in the cert directory.
func startServingManager(client clientset.Interface, files *kubeletFiles, root, nodeName string, addresses []corev1.NodeAddress) (certificate.Manager, error) {
	manager, err := newServerCertificateManager(client, files, nodeName, addresses, hostPath(root, certDirectory))
	if err != nil {
		return nil, err
	}
	manager.Start()
	return manager, nil
}

// newServerCertificateManager builds the kubelet's server certificate manager. The kubelet builds
// one per process, and NewKubeletServerCertificateManager registers its three metrics in the
// process-wide legacy registry (MustRegister: a second registration panics with "duplicate
// metrics collector registration attempted"). A restart here is a new session in the same
// process, so the previous session's metrics go first, as a kubelet process's registry ends
// with the process.
func newServerCertificateManager(client clientset.Interface, files *kubeletFiles, nodeName string, addresses []corev1.NodeAddress, certDir string) (certificate.Manager, error) {
	unregisterServerCertificateMetrics()
	manager, err := kubeletcertificate.NewKubeletServerCertificateManager(
		client, files.config, types.NodeName(nodeName),
		func() []corev1.NodeAddress { return addresses }, certDir)
	if err != nil {
		return nil, fmt.Errorf("server certificate manager: %w", err)
	}
	return manager, nil
}

// serverCertificateMetrics are the names NewKubeletServerCertificateManager registers.
var serverCertificateMetrics = []string{
	"server_expiration_renew_errors",
	"certificate_manager_server_rotation_seconds",
	"certificate_manager_server_ttl_seconds",
}

// unregisterServerCertificateMetrics removes the server certificate manager's metrics from the
// legacy registry, if registered. The registry matches a collector by its descriptors' names and
// constant labels, so a bare collector of the same name stands for the manager's own. Reports
// how many it removed.
func unregisterServerCertificateMetrics() int {
	removed := 0
	for _, name := range serverCertificateMetrics {
		same := prometheus.NewGauge(prometheus.GaugeOpts{Subsystem: kubeletmetrics.KubeletSubsystem, Name: name, Help: name})
		if legacyregistry.Registerer().Unregister(same) {
			removed++
		}
	}
	return removed
}

// servingEndpoint is the kubelet's HTTPS server on the node address: the current session's
// serving certificate, a tiny handler (/healthz, /containerLogs/…); no client authentication.
type servingEndpoint struct {
	mu      sync.Mutex
	manager certificate.Manager
	server  *http.Server
}

// setManager makes the server present manager's certificate (nil: none, handshakes fail).
func (e *servingEndpoint) setManager(m certificate.Manager) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.manager = m
}

func (e *servingEndpoint) certificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	e.mu.Lock()
	m := e.manager
	e.mu.Unlock()
	if m == nil {
		return nil, errors.New("the kubelet has no serving certificate manager")
	}
	if current := m.Current(); current != nil {
		return current, nil
	}
	return nil, errors.New("the kubelet has no serving certificate yet")
}

// listenServing starts the endpoint on address (host:port).
func listenServing(address string, log func(string, ...any)) (*servingEndpoint, error) {
	e := &servingEndpoint{}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	mux.HandleFunc("/containerLogs/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s log line (kubelet-client)\n", strings.TrimPrefix(r.URL.Path, "/containerLogs/"))
	})
	listener, err := net.Listen("tcp", address)
	if err != nil {
		return nil, err
	}
	e.server = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{GetCertificate: e.certificate, ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12},
		ErrorLog:          nil,
	}
	go func() {
		if err := e.server.ServeTLS(listener, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log("serving endpoint stopped: %v", err)
		}
	}()
	log("serving HTTPS on %s (serverTLSBootstrap)", address)
	return e, nil
}

// close stops the endpoint at once: its listener and every connection, in flight or idle.
func (e *servingEndpoint) close() {
	_ = e.server.Close()
}
