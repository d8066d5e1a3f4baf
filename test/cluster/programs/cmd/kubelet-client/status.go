package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// Kinds of failed API requests, the keys of failuresByKind.
const (
	kindUnauthorized = "unauthorized" // HTTP 401
	kindForbidden    = "forbidden"    // HTTP 403
	kindTLS          = "tls"          // the API's serving certificate not trusted, or a TLS alert
	kindConnection   = "connection"   // refused, reset, EOF, unreachable
	kindTimeout      = "timeout"      // the request or its handshake timed out
	kindHTTP         = "http"         // any other failure (5xx, an unexpected status)
)

// certSummary describes a client certificate in status.json.
type certSummary struct {
	Subject           string  `json:"subject"`
	Issuer            string  `json:"issuer"`
	Serial            string  `json:"serial"`
	NotBefore         string  `json:"notBefore"`
	NotAfter          string  `json:"notAfter"`
	AuthorityKeyID    *string `json:"authorityKeyId"`
	IssuerFingerprint *string `json:"issuerFingerprint"`
}

// rotationWindow is the 70–90 % span of a certificate's lifetime.
type rotationWindow struct {
	Earliest string `json:"earliest"`
	Latest   string `json:"latest"`
}

// status is what W/var/run/kubelet/status.json says (the fields of test/cluster/kubelet_status.ts).
type status struct {
	Node                 string            `json:"node"`
	Program              string            `json:"program"`
	Pid                  int               `json:"pid"`
	Server               string            `json:"server"`
	Running              bool              `json:"running"`
	RotateCertificates   bool              `json:"rotateCertificates"`
	ClientCAFile         *string           `json:"clientCAFile"`
	ClientCAFingerprints []string          `json:"clientCAFingerprints"`
	StartedAt            string            `json:"startedAt"`
	Restarts             int               `json:"restarts"`
	LastRestartAt        string            `json:"lastRestartAt"`
	Requests             int64             `json:"requests"`
	Failures             int64             `json:"failures"`
	ConsecutiveFailures  int64             `json:"consecutiveFailures"`
	FailuresByKind       map[string]int64  `json:"failuresByKind"`
	LastErrorByKind      map[string]string `json:"lastErrorByKind"`
	LastSuccessAt        *string           `json:"lastSuccessAt"`
	LastError            *string           `json:"lastError"`
	LastErrorAt          *string           `json:"lastErrorAt"`
	CertPath             *string           `json:"certPath"`
	Cert                 *certSummary      `json:"cert"`
	CertNotAfter         *string           `json:"certNotAfter"`
	IssuerFingerprint    *string           `json:"issuerFingerprint"`
	RotationWindow       *rotationWindow   `json:"rotationWindow"`
	NextRotationAt       *string           `json:"nextRotationAt"`
	Rotations            int               `json:"rotations"`
	RotationStartedAt    *string           `json:"rotationStartedAt"`
	LastRotationAt       *string           `json:"lastRotationAt"`
	LastCsr              *string           `json:"lastCsr"`
	LastRotationError    *string           `json:"lastRotationError"`
	Serving              *servingStatus    `json:"serving,omitempty"`
	UpdatedAt            string            `json:"updatedAt"`
}

// servingStatus is the serving endpoint (serverTLSBootstrap): where it listens, whether it does
// now, and each span a restart closed it.
type servingStatus struct {
	Address   string     `json:"address"`
	Listening bool       `json:"listening"`
	Downtimes []downtime `json:"downtimes"`
}

// downtime runs from a restart closing the serving port until it listens again (To nil meanwhile).
type downtime struct {
	From string  `json:"from"`
	To   *string `json:"to"`
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func ptr[T any](v T) *T { return &v }

// report is the status, shared by the kubelet's goroutines, and the file it is written to.
type report struct {
	mu   sync.Mutex
	wmu  sync.Mutex // one writer of the file at a time
	path string
	s    status
	log  func(format string, args ...any)
}

func newReport(path, node string, log func(string, ...any)) *report {
	now := isoTime(time.Now())
	return &report{path: path, log: log, s: status{
		Node:                 node,
		Program:              "kubelet-client",
		Pid:                  os.Getpid(),
		ClientCAFingerprints: []string{},
		StartedAt:            now,
		LastRestartAt:        now,
		FailuresByKind: map[string]int64{
			kindUnauthorized: 0, kindForbidden: 0, kindTLS: 0, kindConnection: 0, kindTimeout: 0, kindHTTP: 0,
		},
		LastErrorByKind: map[string]string{},
		UpdatedAt:       now,
	}}
}

// update changes the status under its lock.
func (r *report) update(f func(s *status)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.s)
}

func (r *report) requested() { r.update(func(s *status) { s.Requests++ }) }

func (r *report) succeeded() {
	r.update(func(s *status) {
		s.ConsecutiveFailures = 0
		s.LastSuccessAt = ptr(isoTime(time.Now()))
	})
}

// recordError makes message the last error (logged when it differs from the previous one);
// counted also counts it as a failed request of kind.
func (r *report) recordError(kind, message string, counted bool) {
	r.update(func(s *status) {
		if counted {
			s.Failures++
			s.ConsecutiveFailures++
			s.FailuresByKind[kind]++
			s.LastErrorByKind[kind] = message
		}
		if s.LastError == nil || *s.LastError != message {
			r.log("error: %s", message)
		}
		s.LastError = ptr(message)
		s.LastErrorAt = ptr(isoTime(time.Now()))
	})
}

// write writes the status file atomically (a temporary file renamed over it).
func (r *report) write() error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.mu.Lock()
	r.s.UpdatedAt = isoTime(time.Now())
	data, err := json.MarshalIndent(&r.s, "", "  ")
	r.mu.Unlock()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(r.path), 0o755); err != nil {
		return err
	}
	tmp := r.path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, r.path)
}

// classifyError names the kind of a request that got no response.
func classifyError(err error) string {
	var unknownAuthority x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	var verification *tls.CertificateVerificationError
	var alert tls.AlertError
	if errors.As(err, &unknownAuthority) || errors.As(err, &invalid) ||
		errors.As(err, &hostname) || errors.As(err, &verification) || errors.As(err, &alert) {
		return kindTLS
	}
	msg := err.Error()
	for _, s := range []string{"x509:", "tls: failed to verify", "remote error: tls:"} {
		if strings.Contains(msg, s) {
			return kindTLS
		}
	}
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) ||
		strings.Contains(msg, "TLS handshake timeout") || strings.Contains(msg, "Client.Timeout") {
		return kindTimeout
	}
	if utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) || errors.As(err, &netErr) {
		return kindConnection
	}
	return kindConnection
}

// classifyStatus names the kind of a failed response, or "" when the status is no failure
// (a 404 or 409 is an answer the caller handles).
func classifyStatus(code int) string {
	switch {
	case code == http.StatusUnauthorized:
		return kindUnauthorized
	case code == http.StatusForbidden:
		return kindForbidden
	case code >= 500:
		return kindHTTP
	}
	return ""
}

// countingTransport counts every API request of the kubelet and its failures by kind.
type countingTransport struct {
	next   http.RoundTripper
	report *report
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.report.requested()
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		t.report.recordError(classifyError(err), req.Method+" "+req.URL.Path+": "+err.Error(), true)
		return resp, err
	}
	if kind := classifyStatus(resp.StatusCode); kind != "" {
		t.report.recordError(kind, req.Method+" "+req.URL.Path+": "+resp.Status, true)
	} else {
		t.report.succeeded()
	}
	return resp, err
}

// fingerprint is the SHA-256 of a certificate's DER, lower-case hex.
func fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// serialHex is the serial number as its big-endian bytes in lower-case hex, without the 00 that
// DER puts before a high bit and with a leading 0 nibble kept ("0c76…"), as ca-rotator's own
// certificate parser (@peculiar/x509) spells it.
func serialHex(cert *x509.Certificate) string {
	return hex.EncodeToString(cert.SerialNumber.Bytes())
}

// summarize describes a certificate; cas are the CA certificates that may have signed it.
func summarize(cert *x509.Certificate, cas []*x509.Certificate) *certSummary {
	s := &certSummary{
		Subject:   distinguishedName(cert.RawSubject),
		Issuer:    distinguishedName(cert.RawIssuer),
		Serial:    serialHex(cert),
		NotBefore: isoTime(cert.NotBefore),
		NotAfter:  isoTime(cert.NotAfter),
	}
	if len(cert.AuthorityKeyId) > 0 {
		s.AuthorityKeyID = ptr(hex.EncodeToString(cert.AuthorityKeyId))
	}
	for _, ca := range cas {
		if cert.CheckSignatureFrom(ca) == nil {
			s.IssuerFingerprint = ptr(fingerprint(ca))
			break
		}
	}
	return s
}

// attributeNames are the short names of the attribute types of a distinguished name.
var attributeNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.9": "STREET",
	"2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.5": "SERIALNUMBER", "0.9.2342.19200300.100.1.25": "DC",
}

// distinguishedName spells a DER Name in its encoded order, "O=system:nodes, CN=system:node:n",
// as the certificate summaries of the TypeScript side (@peculiar/x509) do; Go's pkix.Name.String
// reverses the order (RFC 2253).
func distinguishedName(raw []byte) string {
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &rdns); err != nil || len(rest) > 0 {
		return ""
	}
	var parts []string
	for _, rdn := range rdns {
		var values []string
		for _, atv := range rdn {
			name, ok := attributeNames[atv.Type.String()]
			if !ok {
				name = atv.Type.String()
			}
			values = append(values, fmt.Sprintf("%s=%v", name, atv.Value))
		}
		parts = append(parts, strings.Join(values, "+"))
	}
	return strings.Join(parts, ", ")
}

// windowOf is the 70–90 % span of a certificate's lifetime, in which the certificate manager
// (client-go util/certificate, jitteryDuration) draws its rotation deadline.
func windowOf(cert *x509.Certificate) *rotationWindow {
	total := cert.NotAfter.Sub(cert.NotBefore)
	return &rotationWindow{
		Earliest: isoTime(cert.NotBefore.Add(time.Duration(float64(total) * 0.7))),
		Latest:   isoTime(cert.NotBefore.Add(time.Duration(float64(total) * 0.9))),
	}
}
