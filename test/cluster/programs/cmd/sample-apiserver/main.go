// Command sample-apiserver is k8s.io/sample-apiserver (the version go.mod pins, v0.37.2: the
// staging version of Kubernetes v1.37.2) as the process of a test-cluster pod: its own main
// (k8s.io/sample-apiserver/main.go), with the in-cluster configuration wired the way
// incluster-client wires it.
//
// Like every aggregated API server (metrics-server …) it reaches the API server with the
// in-cluster config when it is given no kubeconfig: for its core API client, for its delegated
// authentication (the extension-apiserver-authentication ConfigMap, which names the front
// proxy's CA, and TokenReviews) and for its delegated authorization (SubjectAccessReviews).
// client-go's rest.InClusterConfig reads /var/run/secrets/kubernetes.io/serviceaccount; the
// test cluster's pods are processes on the host whose ServiceAccount volume is at
// $SERVICEACCOUNT_DIR, so when that is set and no kubeconfig flag is given this writes the
// in-cluster config as a kubeconfig — server https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT,
// certificate-authority <dir>/ca.crt, tokenFile <dir>/token, which client-go turns into the
// same rest.Config as InClusterConfig (CAFile, BearerToken and BearerTokenFile) — to
// incluster.kubeconfig in the working directory (the pod's directory) and passes it as
// --kubeconfig, --authentication-kubeconfig and --authorization-kubeconfig.
package main

import (
	"os"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/component-base/cli"
	"k8s.io/klog/v2"
	"k8s.io/sample-apiserver/pkg/cmd/server"
)

func main() {
	args, err := withInClusterKubeconfig(os.Args[1:], "incluster.kubeconfig")
	if err != nil {
		klog.ErrorS(err, "cannot write the in-cluster kubeconfig")
		os.Exit(1)
	}
	ctx := genericapiserver.SetupSignalContext()
	options := server.NewWardleServerOptions(os.Stdout, os.Stderr)
	cmd := server.NewCommandStartWardleServer(ctx, options, false)
	cmd.SetArgs(args)
	code := cli.Run(cmd)
	os.Exit(code)
}
