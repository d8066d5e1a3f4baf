package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// Kinds of failed requests.
const (
	kindCertificate  = "certificate"
	kindUnauthorized = "unauthorized"
	kindConnection   = "connection"
	kindOther        = "other"
)

// classify names the kind of a failed request: the server's certificate not trusted (or a TLS
// alert about ours), a 401, a connection that could not be made or broke, or anything else.
func classify(err error) string {
	if apierrors.IsUnauthorized(err) {
		return kindUnauthorized
	}
	var unknownAuthority x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	var verification *tls.CertificateVerificationError
	if errors.As(err, &unknownAuthority) || errors.As(err, &invalid) ||
		errors.As(err, &hostname) || errors.As(err, &verification) {
		return kindCertificate
	}
	msg := err.Error()
	for _, s := range []string{
		"x509:", "certificate signed by unknown authority", "tls: failed to verify",
		"remote error: tls:",
	} {
		if strings.Contains(msg, s) {
			return kindCertificate
		}
	}
	var netErr net.Error
	if utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) ||
		utilnet.IsProbableEOF(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &netErr) {
		return kindConnection
	}
	for _, s := range []string{
		"connection refused", "connection reset", "EOF", "broken pipe", "no route to host",
		"dial tcp", "i/o timeout", "TLS handshake timeout", "client connection lost",
		"use of closed network connection",
	} {
		if strings.Contains(msg, s) {
			return kindConnection
		}
	}
	return kindOther
}

type failures struct {
	Certificate  int64 `json:"certificate"`
	Unauthorized int64 `json:"unauthorized"`
	Connection   int64 `json:"connection"`
	Other        int64 `json:"other"`
}

func (f *failures) add(kind string) {
	switch kind {
	case kindCertificate:
		f.Certificate++
	case kindUnauthorized:
		f.Unauthorized++
	case kindConnection:
		f.Connection++
	default:
		f.Other++
	}
}

type errorInfo struct {
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

type watchStatus struct {
	// Opened counts the watch requests that succeeded (each is also a request and a success).
	Opened int64 `json:"opened"`
	// Events counts the events received.
	Events int64 `json:"events"`
	// Breaks counts the watches that ended with an error after they had been opened.
	Breaks    int64      `json:"breaks"`
	LastBreak *errorInfo `json:"lastBreak,omitempty"`
	// Open tells whether a watch is open now.
	Open bool `json:"open"`
}

// status is what the program writes to $STATUS_FILE. Every API request (a list or the opening
// of a watch) counts once in requests and once in either successes or failures.
type status struct {
	Program                string                `json:"program"`
	Pid                    int                   `json:"pid"`
	Namespace              string                `json:"namespace"`
	Pod                    string                `json:"pod"`
	Host                   string                `json:"host"`
	ServiceAccountDir      string                `json:"serviceAccountDir"`
	ClientsAllowCARotation bool                  `json:"clientsAllowCARotation"`
	Requests               int64                 `json:"requests"`
	Successes              int64                 `json:"successes"`
	Failures               failures              `json:"failures"`
	ConsecutiveFailures    int64                 `json:"consecutiveFailures"`
	LastError              map[string]*errorInfo `json:"lastError"`
	LastSuccessAt          *time.Time            `json:"lastSuccessAt,omitempty"`
	ConfigMaps             int                   `json:"configMaps"`
	Watch                  watchStatus           `json:"watch"`
	StartedAt              time.Time             `json:"startedAt"`
	UpdatedAt              time.Time             `json:"updatedAt"`
	StoppedAt              *time.Time            `json:"stoppedAt,omitempty"`
}

// recorder holds the status under a lock and writes it to a file atomically.
type recorder struct {
	mu   sync.Mutex
	s    status
	path string
}

func (r *recorder) update(fn func(s *status)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(&r.s)
}

func (r *recorder) succeeded() {
	r.update(func(s *status) {
		now := time.Now().UTC()
		s.Requests++
		s.Successes++
		s.ConsecutiveFailures = 0
		s.LastSuccessAt = &now
	})
}

func (r *recorder) failed(err error) string {
	kind := classify(err)
	r.update(func(s *status) {
		s.Requests++
		s.Failures.add(kind)
		s.ConsecutiveFailures++
		s.LastError[kind] = &errorInfo{Message: err.Error(), At: time.Now().UTC()}
	})
	return kind
}

// write writes the status to r.path (a temporary file renamed over it, so readers never see a
// partial file).
func (r *recorder) write() error {
	r.mu.Lock()
	r.s.UpdatedAt = time.Now().UTC()
	data, err := json.MarshalIndent(r.s, "", "  ")
	r.mu.Unlock()
	if err != nil || r.path == "" {
		return err
	}
	tmp := r.path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, r.path)
}
