// Command join-discovery runs kubeadm's own join discovery (k8s.io/kubernetes
// cmd/kubeadm/app/discovery, as `kubeadm join` calls it before the TLS bootstrap) against an API
// server endpoint with a bootstrap token and CA certificate hashes, and prints one JSON line: the
// server and the discovery hashes of the CA data it validated, or the error kubeadm returns.
// It changes nothing: token discovery only reads kube-public/cluster-info.
//
//	join-discovery --endpoint 198.18.1.100:6443 --token abcdef.0123456789abcdef \
//	  --ca-cert-hash sha256:<hex> [--ca-cert-hash …] [--timeout 30s]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	certutil "k8s.io/client-go/util/cert"
	kubeadmapi "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm"
	"k8s.io/kubernetes/cmd/kubeadm/app/discovery"
	"k8s.io/kubernetes/cmd/kubeadm/app/util/pubkeypin"
)

type hashes []string

func (h *hashes) String() string     { return strings.Join(*h, ",") }
func (h *hashes) Set(v string) error { *h = append(*h, v); return nil }

type result struct {
	OK       bool     `json:"ok"`
	Server   string   `json:"server,omitempty"`
	CaHashes []string `json:"caHashes,omitempty"`
	Error    string   `json:"error,omitempty"`
	Seconds  float64  `json:"seconds"`
}

func main() {
	endpoint := flag.String("endpoint", "", "API server endpoint, host:port")
	token := flag.String("token", "", "bootstrap token, <id>.<secret>")
	timeout := flag.Duration("timeout", 30*time.Second, "discovery timeout")
	var pins hashes
	flag.Var(&pins, "ca-cert-hash", "--discovery-token-ca-cert-hash value (repeatable)")
	flag.Parse()
	if *endpoint == "" || *token == "" || len(pins) == 0 {
		fmt.Fprintln(os.Stderr, "usage: join-discovery --endpoint HOST:PORT --token ID.SECRET --ca-cert-hash sha256:HEX")
		os.Exit(2)
	}
	cfg := &kubeadmapi.JoinConfiguration{
		Discovery: kubeadmapi.Discovery{
			BootstrapToken: &kubeadmapi.BootstrapTokenDiscovery{
				Token:             *token,
				APIServerEndpoint: *endpoint,
				CACertHashes:      pins,
			},
			TLSBootstrapToken: *token,
		},
		Timeouts: &kubeadmapi.Timeouts{Discovery: &metav1.Duration{Duration: *timeout}},
	}
	started := time.Now()
	config, err := discovery.For(nil, cfg)
	out := result{Seconds: time.Since(started).Seconds()}
	if err != nil {
		out.Error = err.Error()
	} else {
		out.OK = true
		for _, cluster := range config.Clusters {
			out.Server = cluster.Server
			certs, perr := certutil.ParseCertsPEM(cluster.CertificateAuthorityData)
			if perr != nil {
				out.OK, out.Error = false, perr.Error()
			}
			for _, cert := range certs {
				out.CaHashes = append(out.CaHashes, pubkeypin.Hash(cert))
			}
		}
	}
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
	if !out.OK {
		os.Exit(1)
	}
}
