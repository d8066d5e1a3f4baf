// Command kubelet-client is the test cluster's kubelet for one node root W, without pods: the
// kubelet's own client-certificate code (k8s.io/kubernetes/pkg/kubelet/certificate's client
// certificate manager over client-go's util/certificate file store, and UpdateTransport's
// rotating transport) with a node status and lease heartbeat as system:node:<name> through
// that transport. See test/cluster/README.md, "Kubelets".
//
//	kubelet-client --root W --node-name N [--heartbeat-seconds 5] [--kubelet-version v]
//	               [--label k=v]… [--annotation k=v]… [--node-ip A] [--serving-port 10250]
//
// With serverTLSBootstrap: true in config.yaml and --node-ip, it also runs the kubelet's server
// certificate manager (kubelet-serving CSRs, W/var/lib/kubelet/pki/kubelet-server-current.pem)
// and serves HTTPS with that certificate on A:<serving-port> (/healthz, /containerLogs/…), the
// port published in the Node's status.daemonEndpoints.kubeletEndpoint.Port.
//
// It reads W/var/lib/kubelet/config.yaml and W/etc/kubernetes/kubelet.conf at start and on a
// restart only. Triggers: touching W/var/run/kubelet/restart restarts it (files re-read);
// creating W/var/run/kubelet/rotate forces a rotation (ignored when rotation is off). It
// reports in W/var/run/kubelet/status.json.
package main

import (
	"context"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/klog/v2"
)

// keyValues is a repeatable key=value flag.
type keyValues map[string]string

func (k keyValues) String() string { return fmt.Sprint(map[string]string(k)) }
func (k keyValues) Set(v string) error {
	key, value, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("%q is not key=value", v)
	}
	k[key] = value
	return nil
}

// rotator is the certificate manager's method that rotates at once (exported "for testing").
type rotator interface{ RotateCerts() (bool, error) }

func main() {
	root := flag.String("root", "", "node root W")
	nodeName := flag.String("node-name", "", "node name")
	heartbeatSeconds := flag.Float64("heartbeat-seconds", 5, "seconds between heartbeats")
	kubeletVersion := flag.String("kubelet-version", "", "status.nodeInfo.kubeletVersion at registration")
	nodeIP := flag.String("node-ip", "", "InternalIP at registration")
	servingPort := flag.Int("serving-port", 10250, "HTTPS port on --node-ip with serverTLSBootstrap")
	labels, annotations := keyValues{}, keyValues{}
	flag.Var(labels, "label", "label at registration (key=value, repeatable)")
	flag.Var(annotations, "annotation", "annotation at registration (key=value, repeatable)")
	flag.Parse()
	if *root == "" || *nodeName == "" {
		fmt.Fprintln(os.Stderr, "kubelet-client: --root and --node-name are required")
		os.Exit(2)
	}
	reg := registration{labels: labels, annotations: annotations, kubeletVersion: *kubeletVersion}
	if *nodeIP != "" {
		reg.addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: *nodeIP}, {Type: corev1.NodeHostName, Address: *nodeName}}
	}
	k := &kubelet{root: *root, name: *nodeName, heartbeat: time.Duration(*heartbeatSeconds * float64(time.Second)), reg: reg, nodeIP: *nodeIP, servingPort: *servingPort}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	k.run(ctx)
}

// kubelet is the process: the report, the current session and the triggers.
type kubelet struct {
	root, name string
	heartbeat  time.Duration
	reg        registration
	report     *report
	// nodeIP and servingPort: where the serving endpoint listens (serverTLSBootstrap).
	nodeIP      string
	servingPort int
	serving     *servingEndpoint
	logMu       sync.Mutex

	session     *session
	sessionDone chan struct{}
	restartSeen time.Time
	certSeen    *x509.Certificate
	// forced receives the outcome of a forced rotation, which runs beside the main loop.
	forced   chan forcedRotation
	rotating bool
}

// forcedRotation is the outcome of the manager's RotateCerts in a session.
type forcedRotation struct {
	session *session
	ok      bool
	err     error
}

func (k *kubelet) logf(format string, args ...any) {
	k.logMu.Lock()
	defer k.logMu.Unlock()
	fmt.Fprintf(os.Stderr, "%s [kubelet %s] %s\n", time.Now().UTC().Format("15:04:05.000"), k.name, fmt.Sprintf(format, args...))
}

func (k *kubelet) runFile(name string) string {
	return filepath.Join(hostPath(k.root, runDirectory), name)
}

func (k *kubelet) run(ctx context.Context) {
	k.report = newReport(k.runFile("status.json"), k.name, k.logf)
	k.forced = make(chan forcedRotation, 1)
	// The kubelet's packages log through klog's contextual logger; the certificate manager tells
	// its deadline at V(2).
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	_ = klogFlags.Set("v", fmt.Sprint(maxLevel))
	klog.EnableContextualLogging(true)
	klog.SetLogger(logr.New(&logSink{mu: &k.logMu, out: os.Stderr, prefix: "[kubelet " + k.name + "] ", observe: k.observe}))
	_ = os.MkdirAll(hostPath(k.root, runDirectory), 0o755)
	// A restart trigger that is already there is no request.
	if info, err := os.Stat(k.runFile("restart")); err == nil {
		k.restartSeen = info.ModTime()
	}
	k.start()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	lastWrite := time.Time{}
	for {
		select {
		case <-ctx.Done():
			k.closeServing()
			k.stopSession()
			k.report.update(func(s *status) { s.Running = false })
			_ = k.report.write()
			return
		case r := <-k.forced:
			k.forcedRotationDone(r)
		case <-tick.C:
		}
		if info, err := os.Stat(k.runFile("restart")); err == nil && !info.ModTime().Equal(k.restartSeen) {
			k.restartSeen = info.ModTime()
			k.report.update(func(s *status) {
				s.Restarts++
				s.LastRestartAt = isoTime(time.Now())
			})
			k.logf("restarting (restart trigger)")
			k.closeServing()
			k.stopSession()
			k.start()
		}
		if _, err := os.Stat(k.runFile("rotate")); err == nil {
			k.forceRotation()
		}
		changed := k.watchCertificate()
		if changed || time.Since(lastWrite) >= time.Second {
			if err := k.report.write(); err != nil {
				k.logf("cannot write status: %v", err)
			}
			lastWrite = time.Now()
		}
	}
}

// start starts a session and its heartbeat; when the files cannot be used the kubelet does not
// start (no requests at all) and running says so.
func (k *kubelet) start() {
	s, err := startSession(k.root, k.name, k.reg.addresses, k.report, 10*time.Second)
	if err != nil {
		k.report.recordError(kindHTTP, "kubelet not started: "+err.Error(), false)
		k.session = nil
		_ = k.report.write()
		return
	}
	k.session = s
	k.certSeen = nil
	servingPort := int32(0)
	if s.serverManager != nil {
		if k.serving == nil {
			k.openServing()
		}
		if k.serving != nil {
			servingPort = int32(k.servingPort)
		}
	}
	if k.serving != nil {
		k.serving.setManager(s.serverManager)
	}
	k.watchCertificate()
	// The status shows this (re)start before any heartbeat can make the node Ready again.
	if err := k.report.write(); err != nil {
		k.logf("cannot write status: %v", err)
	}
	done := make(chan struct{})
	k.sessionDone = done
	h := &heartbeat{name: k.name, reg: k.reg, report: k.report, log: k.logf, servingPort: servingPort, flush: func() {
		if err := k.report.write(); err != nil {
			k.logf("cannot write status: %v", err)
		}
	}}
	go func() {
		defer close(done)
		for {
			h.beat(s.ctx, s.client)
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(k.heartbeat):
			}
		}
	}()
}

// openServing starts the serving endpoint on the node address; after a restart it ends the
// downtime the restart began.
func (k *kubelet) openServing() {
	address := net.JoinHostPort(k.nodeIP, fmt.Sprint(k.servingPort))
	serving, err := listenServing(address, k.logf)
	if err != nil {
		k.logf("cannot serve on %s: %v", address, err)
		return
	}
	k.serving = serving
	now := isoTime(time.Now())
	k.report.update(func(s *status) {
		if s.Serving == nil {
			s.Serving = &servingStatus{Address: address, Downtimes: []downtime{}}
		}
		s.Serving.Listening = true
		if n := len(s.Serving.Downtimes); n > 0 && s.Serving.Downtimes[n-1].To == nil {
			s.Serving.Downtimes[n-1].To = ptr(now)
		}
	})
}

// closeServing closes the serving endpoint and its connections, as the end of a kubelet process
// does: a restart closes the port until the new session listens again (a downtime).
func (k *kubelet) closeServing() {
	if k.serving == nil {
		return
	}
	// The downtime begins before the close: a client sees its connection end while close runs.
	now := isoTime(time.Now())
	k.serving.close()
	k.serving = nil
	k.report.update(func(s *status) {
		s.Serving.Listening = false
		s.Serving.Downtimes = append(s.Serving.Downtimes, downtime{From: now})
	})
	k.logf("serving endpoint closed")
}

func (k *kubelet) stopSession() {
	if k.session == nil {
		return
	}
	k.session.stop()
	<-k.sessionDone
	k.session = nil
	k.report.update(func(s *status) { s.Running = false })
}

// watchCertificate records the manager's current certificate; a new one within a session is a
// rotation. Reports whether it changed.
func (k *kubelet) watchCertificate() bool {
	if k.session == nil {
		return false
	}
	current := k.session.manager.Current()
	if current == nil || current.Leaf == nil || current.Leaf == k.certSeen {
		return false
	}
	rotated := k.certSeen != nil && !current.Leaf.Equal(k.certSeen)
	k.certSeen = current.Leaf
	summary := summarize(current.Leaf, k.knownCAs())
	k.report.update(func(s *status) {
		s.Cert = summary
		s.CertNotAfter = ptr(summary.NotAfter)
		s.IssuerFingerprint = summary.IssuerFingerprint
		s.RotationWindow = nil
		if s.RotateCertificates {
			s.RotationWindow = windowOf(current.Leaf)
		} else {
			s.NextRotationAt = nil
		}
		if rotated {
			s.Rotations++
			s.LastRotationAt = ptr(isoTime(time.Now()))
			s.LastRotationError = nil
		}
	})
	if rotated {
		k.logf("rotated client certificate: serial %s, NotAfter %s", summary.Serial, summary.NotAfter)
	}
	return true
}

// forceRotation acts on the rotate trigger: the manager rotates at once (RotateCerts, beside the
// main loop, which goes on with heartbeats and triggers while the CSR waits to be signed).
func (k *kubelet) forceRotation() {
	_ = os.Remove(k.runFile("rotate"))
	if k.session == nil || !k.session.files.rotateCertificates {
		k.logf("rotate trigger ignored: rotateCertificates is false or the kubelet is not running")
		return
	}
	if k.rotating {
		return
	}
	k.rotating = true
	k.logf("rotating client certificate (forced)")
	s := k.session
	go func() {
		ok, err := s.manager.(rotator).RotateCerts()
		k.forced <- forcedRotation{session: s, ok: ok, err: err}
	}()
}

// forcedRotationDone records a forced rotation's outcome; after a rotation the session is started
// afresh so that the manager draws its next deadline for the new certificate (its loop would
// otherwise still wait for the old certificate's deadline and rotate once more).
func (k *kubelet) forcedRotationDone(r forcedRotation) {
	k.rotating = false
	if r.err != nil || !r.ok {
		k.report.update(func(st *status) {
			if r.err != nil || st.LastRotationError == nil {
				st.LastRotationError = ptr(fmt.Sprintf("forced rotation failed: %v", r.err))
			}
		})
		return
	}
	if r.session != k.session {
		return // restarted meanwhile: the new session has read the new certificate
	}
	k.watchCertificate()
	k.stopSession()
	k.start()
}

// knownCAs are the CA certificates on the node that may have signed the client certificate:
// kubelet.conf's and every .crt of W/etc/kubernetes/pki.
func (k *kubelet) knownCAs() []*x509.Certificate {
	var cas []*x509.Certificate
	if k.session != nil {
		cas = append(cas, k.session.files.kubeconfigCAs...)
	}
	dir := hostPath(k.root, "/etc/kubernetes/pki")
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".crt") {
			if more, err := certutil.CertsFromFile(filepath.Join(dir, e.Name())); err == nil {
				cas = append(cas, more...)
			}
		}
	}
	return cas
}

// observe takes what the certificate manager says only in its log.
func (k *kubelet) observe(msg string, err error, kv map[string]any) {
	switch msg {
	case "Certificate rotation deadline determined":
		if deadline, ok := kv["deadline"].(time.Time); ok {
			k.report.update(func(s *status) {
				if s.RotateCertificates {
					s.NextRotationAt = ptr(isoTime(deadline))
				}
			})
		}
	case "Rotating certificates":
		k.report.update(func(s *status) { s.RotationStartedAt = ptr(isoTime(time.Now())) })
	case "Certificate signing request created":
		name := fmt.Sprint(kv["csr"])
		k.report.update(func(s *status) { s.LastCsr = ptr(name) })
	case "Unable to generate a certificate signing request",
		"Unable to load a client to request certificates",
		"Failed while requesting a signed certificate from the control plane",
		"Certificate request was not signed",
		"Unable to store the new cert/key pair",
		"Reached backoff limit, still unable to rotate certs":
		text := msg
		if err != nil {
			text += ": " + err.Error()
		}
		k.report.update(func(s *status) { s.LastRotationError = ptr(text) })
	}
}
