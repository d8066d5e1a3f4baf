package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"

	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/klog/v2"
	kubeletconfig "k8s.io/kubernetes/pkg/kubelet/apis/config"
	"k8s.io/kubernetes/pkg/kubelet/certificate/bootstrap"
	"k8s.io/kubernetes/pkg/kubelet/kubeletconfig/configfiles"
	utilfs "k8s.io/kubernetes/pkg/util/filesystem"
)

// Node paths the kubelet reads (kubeadm's flags: --kubeconfig, --config, --cert-dir).
const (
	kubeconfigPath = "/etc/kubernetes/kubelet.conf"
	configPath     = "/var/lib/kubelet/config.yaml"
	certDirectory  = "/var/lib/kubelet/pki"
	runDirectory   = "/var/run/kubelet"
)

// hostPath maps an absolute node path to the file under the node root W (path_map.ts).
func hostPath(root, nodePath string) string {
	if nodePath == "" || !filepath.IsAbs(nodePath) {
		return nodePath
	}
	return filepath.Join(root, nodePath)
}

// kubeletFiles is what the kubelet runs with after reading its files.
type kubeletFiles struct {
	rotateCertificates bool
	// config is config.yaml as the kubelet's loader read it (serverTLSBootstrap: a serving
	// certificate from the kubelet's server certificate manager).
	config       *kubeletconfig.KubeletConfiguration
	clientCAFile string
	clientCAs    []*x509.Certificate
	// certConfig and clientConfig as bootstrap.LoadClientConfig returns them.
	certConfig, clientConfig *restclient.Config
	// certPath is the node path of the client certificate kubelet.conf names.
	certPath string
	// kubeconfigCAs are the CAs of kubelet.conf (the only ones the kubelet trusts for the API).
	kubeconfigCAs []*x509.Certificate
}

// loadFiles reads config.yaml with the kubelet's own loader, the client CA file it names and
// kubelet.conf (with the kubelet's own bootstrap.LoadClientConfig, no bootstrap kubeconfig) of
// node root. The second result is the configuration when config.yaml could be read, even if the
// kubelet cannot start.
func loadFiles(ctx context.Context, root string) (*kubeletFiles, error) {
	files := &kubeletFiles{}
	loader, err := configfiles.NewFsLoader(&utilfs.DefaultFs{}, hostPath(root, configPath))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", configPath, err)
	}
	config, err := loader.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", configPath, err)
	}
	files.rotateCertificates = config.RotateCertificates
	files.config = config
	files.clientCAFile = config.Authentication.X509.ClientCAFile
	if files.clientCAFile != "" {
		cas, err := certutil.CertsFromFile(hostPath(root, files.clientCAFile))
		if err != nil {
			return files, fmt.Errorf("clientCAFile %s: %w", files.clientCAFile, err)
		}
		files.clientCAs = cas
	}

	// kubelet.conf names node paths (/var/lib/kubelet/pki/kubelet-client-current.pem,
	// /etc/kubernetes/pki/ca.crt): the copy the kubelet's loader reads has them mapped under W.
	kubeconfig, err := clientcmd.LoadFromFile(hostPath(root, kubeconfigPath))
	if err != nil {
		return files, fmt.Errorf("cannot read %s: %w", kubeconfigPath, err)
	}
	for _, cluster := range kubeconfig.Clusters {
		cluster.CertificateAuthority = hostPath(root, cluster.CertificateAuthority)
	}
	for _, user := range kubeconfig.AuthInfos {
		if files.certPath == "" {
			files.certPath = user.ClientCertificate
		}
		user.ClientCertificate = hostPath(root, user.ClientCertificate)
		user.ClientKey = hostPath(root, user.ClientKey)
	}
	mapped := filepath.Join(hostPath(root, runDirectory), "kubelet.conf")
	if err := os.MkdirAll(filepath.Dir(mapped), 0o755); err != nil {
		return files, err
	}
	if err := clientcmd.WriteToFile(*kubeconfig, mapped); err != nil {
		return files, err
	}
	files.certConfig, files.clientConfig, err = bootstrap.LoadClientConfig(klog.FromContext(ctx), mapped, "", hostPath(root, certDirectory))
	if err != nil {
		return files, fmt.Errorf("%s: %w", kubeconfigPath, err)
	}
	caData := files.clientConfig.CAData
	if len(caData) == 0 && files.clientConfig.CAFile != "" {
		if caData, err = os.ReadFile(files.clientConfig.CAFile); err != nil {
			return files, fmt.Errorf("%s: certificate-authority: %w", kubeconfigPath, err)
		}
	}
	if len(caData) > 0 {
		if files.kubeconfigCAs, err = certutil.ParseCertsPEM(caData); err != nil {
			return files, fmt.Errorf("%s: certificate-authority: %w", kubeconfigPath, err)
		}
	}
	return files, nil
}
