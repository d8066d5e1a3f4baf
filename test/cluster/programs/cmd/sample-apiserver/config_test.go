package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

func TestWithInClusterKubeconfig(t *testing.T) {
	dir := t.TempDir()
	sa := filepath.Join(dir, "sa")
	if err := os.MkdirAll(sa, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sa, "token"), []byte("the-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sa, "ca.crt"), []byte("not read here"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SERVICEACCOUNT_DIR", sa)
	t.Setenv("KUBERNETES_SERVICE_HOST", "198.18.1.100")
	t.Setenv("KUBERNETES_SERVICE_PORT", "6443")
	file := filepath.Join(dir, "incluster.kubeconfig")

	args, err := withInClusterKubeconfig([]string{"--secure-port=8443"}, file)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"--secure-port=8443", "--kubeconfig=" + file,
		"--authentication-kubeconfig=" + file, "--authorization-kubeconfig=" + file}
	if !slices.Equal(args, want) {
		t.Fatalf("args = %v, want %v", args, want)
	}
	// client-go makes of it what rest.InClusterConfig would.
	config, err := clientcmd.BuildConfigFromFlags("", file)
	if err != nil {
		t.Fatal(err)
	}
	if config.Host != "https://198.18.1.100:6443" || config.CAFile != filepath.Join(sa, "ca.crt") ||
		config.BearerToken != "the-token" || config.BearerTokenFile != filepath.Join(sa, "token") {
		t.Fatalf("config = host %q, CAFile %q, token %q, token file %q",
			config.Host, config.CAFile, config.BearerToken, config.BearerTokenFile)
	}

	// A kubeconfig flag given: the arguments are left alone.
	given := []string{"--kubeconfig=/elsewhere"}
	if args, _ := withInClusterKubeconfig(given, file); !slices.Equal(args, given) {
		t.Fatalf("args = %v, want %v", args, given)
	}
	// Not in the test cluster: rest.InClusterConfig does the work.
	t.Setenv("SERVICEACCOUNT_DIR", "")
	if args, _ := withInClusterKubeconfig(nil, file); len(args) != 0 {
		t.Fatalf("args = %v, want none", args)
	}
}
