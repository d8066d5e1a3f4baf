package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	clientcmd "k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeconfigFlags are the flags through which an aggregated API server is told to use a
// kubeconfig instead of the in-cluster config.
var kubeconfigFlags = []string{"--kubeconfig", "--authentication-kubeconfig", "--authorization-kubeconfig"}

// withInClusterKubeconfig returns args, with the kubeconfig flags added when $SERVICEACCOUNT_DIR
// is set and args has none of them: they name file, written with inClusterKubeconfig.
func withInClusterKubeconfig(args []string, file string) ([]string, error) {
	dir := os.Getenv("SERVICEACCOUNT_DIR")
	if dir == "" {
		return args, nil // a real pod: rest.InClusterConfig finds the volume where it expects it
	}
	for _, arg := range args {
		for _, flag := range kubeconfigFlags {
			if arg == flag || strings.HasPrefix(arg, flag+"=") {
				return args, nil
			}
		}
	}
	config, err := inClusterKubeconfig(dir)
	if err != nil {
		return nil, err
	}
	path, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	if err := clientcmd.WriteToFile(*config, path); err != nil {
		return nil, err
	}
	out := append([]string{}, args...)
	for _, flag := range kubeconfigFlags {
		out = append(out, flag+"="+path)
	}
	return out, nil
}

// inClusterKubeconfig is what rest.InClusterConfig of k8s.io/client-go v0.37.2 builds, as a
// kubeconfig: the server from KUBERNETES_SERVICE_HOST/PORT, the CA file and the token file of
// the ServiceAccount volume at dir (client-go re-reads the token file every minute and after a
// 401, and — ClientsAllowCARotation — the CA file at most every 5 minutes, as for InClusterConfig).
func inClusterKubeconfig(dir string) (*clientcmdapi.Config, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, fmt.Errorf("unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined")
	}
	config := clientcmdapi.NewConfig()
	config.Clusters["in-cluster"] = &clientcmdapi.Cluster{
		Server:               "https://" + net.JoinHostPort(host, port),
		CertificateAuthority: filepath.Join(dir, "ca.crt"),
	}
	config.AuthInfos["serviceaccount"] = &clientcmdapi.AuthInfo{TokenFile: filepath.Join(dir, "token")}
	config.Contexts["in-cluster"] = &clientcmdapi.Context{Cluster: "in-cluster", AuthInfo: "serviceaccount"}
	config.CurrentContext = "in-cluster"
	return config, nil
}
