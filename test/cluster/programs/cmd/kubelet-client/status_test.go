package main

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

func TestClassifyError(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("Get x: %w", x509.UnknownAuthorityError{}), kindTLS},
		{errors.New("remote error: tls: bad certificate"), kindTLS},
		{errors.New("tls: failed to verify certificate: x509: certificate signed by unknown authority"), kindTLS},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), kindConnection},
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, kindConnection},
		{fmt.Errorf("wait: %w", context.DeadlineExceeded), kindTimeout},
		{errors.New("net/http: TLS handshake timeout"), kindTimeout},
	}
	for _, c := range cases {
		if got := classifyError(c.err); got != c.want {
			t.Errorf("classifyError(%q) = %s, want %s", c.err, got, c.want)
		}
	}
}

func TestClassifyStatus(t *testing.T) {
	for code, want := range map[int]string{
		http.StatusOK: "", http.StatusCreated: "", http.StatusNotFound: "", http.StatusConflict: "",
		http.StatusUnauthorized: kindUnauthorized, http.StatusForbidden: kindForbidden,
		http.StatusInternalServerError: kindHTTP, http.StatusServiceUnavailable: kindHTTP,
	} {
		if got := classifyStatus(code); got != want {
			t.Errorf("classifyStatus(%d) = %q, want %q", code, got, want)
		}
	}
}

func TestSerialHexAsTheTypeScriptParserSpellsIt(t *testing.T) {
	high, _ := new(big.Int).SetString("9472048f6b68f0ffba30f273c793b93d", 16)
	if got := serialHex(&x509.Certificate{SerialNumber: high}); got != "9472048f6b68f0ffba30f273c793b93d" {
		t.Errorf("serialHex = %s", got)
	}
	low, _ := new(big.Int).SetString("0c767f678349d5711511373773732c67", 16)
	if got := serialHex(&x509.Certificate{SerialNumber: low}); got != "0c767f678349d5711511373773732c67" {
		t.Errorf("serialHex = %s", got)
	}
}

func TestWindowOfIs70To90PercentOfTheLifetime(t *testing.T) {
	nb := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	w := windowOf(&x509.Certificate{NotBefore: nb, NotAfter: nb.Add(121 * time.Second)})
	if w.Earliest != "2025-06-01T00:01:24.700Z" || w.Latest != "2025-06-01T00:01:48.900Z" {
		t.Errorf("window = %+v", w)
	}
}

func TestHostPathMapsAbsoluteNodePaths(t *testing.T) {
	if got := hostPath("/w", "/var/lib/kubelet/pki/kubelet-client-current.pem"); got != "/w/var/lib/kubelet/pki/kubelet-client-current.pem" {
		t.Errorf("hostPath = %s", got)
	}
	if got := hostPath("/w", "relative/ca.crt"); got != "relative/ca.crt" {
		t.Errorf("hostPath of a relative path = %s", got)
	}
}

func TestDistinguishedNameInEncodedOrder(t *testing.T) {
	raw, err := asn1.Marshal(pkix.Name{CommonName: "system:node:w", Organization: []string{"system:nodes"}}.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	if got := distinguishedName(raw); got != "O=system:nodes, CN=system:node:w" {
		t.Errorf("distinguishedName = %q", got)
	}
}
