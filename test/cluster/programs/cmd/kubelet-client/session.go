package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	clientset "k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/util/certificate"
	"k8s.io/klog/v2"
	kubeletcertificate "k8s.io/kubernetes/pkg/kubelet/certificate"
)

// session is one run of the kubelet's API client between two (re)starts: the client
// certificate manager, the rotating transport and the clientset the heartbeat uses.
type session struct {
	files   *kubeletFiles
	manager certificate.Manager
	// serverManager is the server certificate manager (serverTLSBootstrap), else nil.
	serverManager certificate.Manager
	client        clientset.Interface
	stopCh        chan struct{}
	closeFn       func()
	cancel        context.CancelFunc
	ctx           context.Context
}

// startSession reads the kubelet's files and builds its client as the kubelet's
// buildKubeletClientConfig does with --rotate-certificates (cmd/kubelet/app/server.go): the
// client certificate manager of pkg/kubelet/certificate over the file store in the cert
// directory, a clientset for CSRs made from kubelet.conf's credentials, and for everything else
// an anonymous copy of the config whose transport UpdateTransport builds (its TLS client
// certificate is the manager's current one; connections are closed when it changes). The
// manager is started when rotateCertificates is on.
//
// With serverTLSBootstrap and node addresses the session also runs the kubelet's server
// certificate manager (serving.go).
func startSession(root, nodeName string, addresses []corev1.NodeAddress, r *report, timeout time.Duration) (*session, error) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{stopCh: make(chan struct{}), cancel: cancel, ctx: ctx}
	files, err := loadFiles(ctx, root)
	r.update(func(st *status) {
		st.Running = false
		if files == nil {
			return
		}
		st.RotateCertificates = files.rotateCertificates
		st.ClientCAFile = nil
		st.ClientCAFingerprints = []string{}
		if files.clientCAFile != "" {
			st.ClientCAFile = ptr(files.clientCAFile)
		}
		for _, ca := range files.clientCAs {
			st.ClientCAFingerprints = append(st.ClientCAFingerprints, fingerprint(ca))
		}
		if files.certPath != "" {
			st.CertPath = ptr(files.certPath)
		}
		if files.clientConfig != nil {
			st.Server = files.clientConfig.Host
		}
	})
	if err == nil && files.clientCAFile != "" && len(files.clientCAs) == 0 {
		err = fmt.Errorf("clientCAFile %s holds no certificate", files.clientCAFile)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	s.files = files

	counting := func(rt http.RoundTripper) http.RoundTripper { return &countingTransport{next: rt, report: r} }
	certConfig := restclient.CopyConfig(files.certConfig)
	clientConfig := restclient.CopyConfig(files.clientConfig)
	certConfig.Wrap(counting)
	clientConfig.Wrap(counting)
	certConfig.Timeout, clientConfig.Timeout = timeout, timeout

	// buildClientCertificateManager of cmd/kubelet/app/server.go.
	newClientsetFn := func(current *tls.Certificate) (clientset.Interface, error) {
		config := certConfig
		if current != nil {
			config = clientConfig
		}
		return clientset.NewForConfig(config)
	}
	manager, err := kubeletcertificate.NewKubeletClientCertificateManager(
		hostPath(root, certDirectory), types.NodeName(nodeName),
		clientConfig.CertData, clientConfig.KeyData, clientConfig.CertFile, clientConfig.KeyFile,
		newClientsetFn)
	if err != nil {
		cancel()
		return nil, err
	}
	s.manager = manager

	transportConfig := restclient.AnonymousClientConfig(clientConfig)
	// exitAfter 0: the kubelet passes 5 min and exits when its certificate has expired and the
	// server answers; here the process stays and counts its failures (see README).
	closeAll, err := kubeletcertificate.UpdateTransport(klog.FromContext(ctx), s.stopCh, transportConfig, manager, 0)
	if err != nil {
		manager.Stop()
		cancel()
		return nil, err
	}
	s.closeFn = closeAll
	transportConfig.Wrap(counting)
	transportConfig.Timeout = timeout
	if s.client, err = clientset.NewForConfig(transportConfig); err != nil {
		s.stop()
		return nil, err
	}
	if files.rotateCertificates {
		manager.Start()
	}
	if files.config.ServerTLSBootstrap && len(addresses) > 0 {
		if s.serverManager, err = startServingManager(s.client, files, root, nodeName, addresses); err != nil {
			s.stop()
			return nil, err
		}
	}
	r.update(func(st *status) {
		st.Running = true
		st.LastError = nil
	})
	return s, nil
}

// stop ends the session: the manager, the transport's certificate check and its connections.
func (s *session) stop() {
	s.manager.Stop()
	if s.serverManager != nil {
		s.serverManager.Stop()
	}
	close(s.stopCh)
	if s.closeFn != nil {
		s.closeFn()
	}
	s.cancel()
}
