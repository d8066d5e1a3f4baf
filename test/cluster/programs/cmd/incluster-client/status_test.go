package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestClassify(t *testing.T) {
	get := func(err error) error {
		return &url.Error{Op: "Get", URL: "https://198.18.1.100:6443/api/v1/namespaces/a/configmaps", Err: err}
	}
	cases := []struct {
		err  error
		want string
	}{
		{get(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), kindCertificate},
		{get(x509.HostnameError{Host: "198.18.1.100", Certificate: &x509.Certificate{}}), kindCertificate},
		{fmt.Errorf("tls: failed to verify certificate: x509: certificate signed by unknown authority"), kindCertificate},
		{get(&net.OpError{Op: "remote error", Err: errors.New("remote error: tls: bad certificate")}), kindCertificate},
		{apierrors.NewUnauthorized("Unauthorized"), kindUnauthorized},
		{get(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), kindConnection},
		{get(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), kindConnection},
		{get(io.EOF), kindConnection},
		{get(io.ErrUnexpectedEOF), kindConnection},
		{apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "", errors.New("no")), kindOther},
		{apierrors.NewInternalError(errors.New("etcd")), kindOther},
	}
	for _, c := range cases {
		if got := classify(c.err); got != c.want {
			t.Errorf("classify(%q) = %s, want %s", c.err, got, c.want)
		}
	}
}
