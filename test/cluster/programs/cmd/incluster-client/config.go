package main

import (
	"net"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/klog/v2"
)

// defaultServiceAccountDir is where the kubelet mounts a pod's ServiceAccount volume and where
// rest.InClusterConfig reads it.
const defaultServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// serviceAccountDir is defaultServiceAccountDir, or $SERVICEACCOUNT_DIR when set: the test
// cluster's pods are processes on the host, so their volume lives under the pod's directory.
func serviceAccountDir() string {
	if dir := os.Getenv("SERVICEACCOUNT_DIR"); dir != "" {
		return dir
	}
	return defaultServiceAccountDir
}

// inClusterConfig is rest.InClusterConfig of k8s.io/client-go v0.37.2, line for line, with the
// directory of the token and CA files taken from serviceAccountDir(): the host from
// KUBERNETES_SERVICE_HOST/PORT, the token read once here and again by client-go's cached file
// token source (BearerTokenFile, re-read every minute and after a 401), the CA as CAFile (which
// client-go loads when the transport is built; with its ClientsAllowCARotation feature, on by
// default since 1.36, it also re-reads the file, at most every 5 minutes).
func inClusterConfig() (*rest.Config, error) {
	dir := serviceAccountDir()
	tokenFile := filepath.Join(dir, "token")
	rootCAFile := filepath.Join(dir, "ca.crt")
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if len(host) == 0 || len(port) == 0 {
		return nil, rest.ErrNotInCluster
	}

	token, err := os.ReadFile(tokenFile)
	if err != nil {
		return nil, err
	}

	tlsClientConfig := rest.TLSClientConfig{}

	if _, err := certutil.NewPool(rootCAFile); err != nil {
		klog.Errorf("Expected to load root CA config from %s, but got err: %v", rootCAFile, err)
	} else {
		tlsClientConfig.CAFile = rootCAFile
	}

	return &rest.Config{
		Host:            "https://" + net.JoinHostPort(host, port),
		TLSClientConfig: tlsClientConfig,
		BearerToken:     string(token),
		BearerTokenFile: tokenFile,
	}, nil
}
