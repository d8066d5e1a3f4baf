// Command incluster-client is a workload of the test cluster that uses the cluster CA the way
// a pod does: configured exactly as rest.InClusterConfig configures a client (the directory
// of the ServiceAccount volume may be moved with $SERVICEACCOUNT_DIR), it lists the ConfigMaps
// of its namespace every second and keeps a watch open on them, and writes what happened —
// requests, successes, failures by kind (certificate, unauthorized, connection, other) and the
// last error of each kind — to $STATUS_FILE as JSON after every list and when it stops.
//
// Environment: KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT, POD_NAMESPACE (else the
// namespace file of the ServiceAccount volume), POD_NAME, STATUS_FILE, SERVICEACCOUNT_DIR.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	clientgofeatures "k8s.io/client-go/features"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

const interval = time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx); err != nil {
		klog.ErrorS(err, "incluster-client failed")
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	dir := serviceAccountDir()
	namespace := os.Getenv("POD_NAMESPACE")
	if namespace == "" {
		data, err := os.ReadFile(filepath.Join(dir, "namespace"))
		if err != nil {
			return fmt.Errorf("no POD_NAMESPACE and no namespace file: %w", err)
		}
		namespace = strings.TrimSpace(string(data))
	}
	rec := &recorder{path: os.Getenv("STATUS_FILE"), s: status{
		Program:                "incluster-client",
		Pid:                    os.Getpid(),
		Namespace:              namespace,
		Pod:                    os.Getenv("POD_NAME"),
		ServiceAccountDir:      dir,
		ClientsAllowCARotation: clientgofeatures.FeatureGates().Enabled(clientgofeatures.ClientsAllowCARotation),
		LastError:              map[string]*errorInfo{},
		StartedAt:              time.Now().UTC(),
	}}
	config, err := inClusterConfig()
	if err != nil {
		return err
	}
	rec.s.Host = config.Host
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	klog.InfoS("started", "host", config.Host, "namespace", namespace, "serviceAccountDir", dir,
		"caFile", config.TLSClientConfig.CAFile, "clientsAllowCARotation", rec.s.ClientsAllowCARotation)
	if err := rec.write(); err != nil {
		klog.ErrorS(err, "cannot write the status file")
	}

	go watchLoop(ctx, client, namespace, rec)

	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		listOnce(ctx, client, namespace, rec)
		if err := rec.write(); err != nil {
			klog.ErrorS(err, "cannot write the status file")
		}
		select {
		case <-ctx.Done():
			rec.update(func(s *status) {
				now := time.Now().UTC()
				s.StoppedAt = &now
				s.Watch.Open = false
			})
			klog.InfoS("stopping")
			return rec.write()
		case <-ticker.C:
		}
	}
}

func listOnce(ctx context.Context, client kubernetes.Interface, namespace string, rec *recorder) {
	reqCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	list, err := client.CoreV1().ConfigMaps(namespace).List(reqCtx, metav1.ListOptions{})
	if ctx.Err() != nil {
		return // stopping: not the API's failure
	}
	if err != nil {
		kind := rec.failed(err)
		klog.InfoS("list failed", "kind", kind, "err", err)
		return
	}
	rec.succeeded()
	rec.update(func(s *status) { s.ConfigMaps = len(list.Items) })
}

// watchLoop keeps a watch on the namespace's ConfigMaps open: it opens one (a request), reads
// it until it ends, and opens the next; after a failure or a break it waits a second.
func watchLoop(ctx context.Context, client kubernetes.Interface, namespace string, rec *recorder) {
	resourceVersion := ""
	for ctx.Err() == nil {
		timeout := int64(300)
		w, err := client.CoreV1().ConfigMaps(namespace).Watch(ctx, metav1.ListOptions{
			ResourceVersion:     resourceVersion,
			AllowWatchBookmarks: true,
			TimeoutSeconds:      &timeout,
		})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			kind := rec.failed(err)
			klog.InfoS("watch failed", "kind", kind, "err", err)
			if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
				resourceVersion = ""
			}
			sleep(ctx, interval)
			continue
		}
		rec.succeeded()
		rec.update(func(s *status) { s.Watch.Opened++; s.Watch.Open = true })
		broke := false
		for event := range w.ResultChan() {
			if event.Type == watch.Error {
				if ctx.Err() != nil {
					break // stopping: the watch was cancelled
				}
				err := apierrors.FromObject(event.Object)
				if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
					resourceVersion = "" // too old: start again from the current state
				} else {
					broke = true
					rec.update(func(s *status) {
						s.Watch.Breaks++
						s.Watch.LastBreak = &errorInfo{Message: err.Error(), At: time.Now().UTC()}
					})
					klog.InfoS("watch broke", "err", err)
				}
				break
			}
			if cm, ok := event.Object.(*corev1.ConfigMap); ok {
				resourceVersion = cm.ResourceVersion
			} else if m, err := metaAccessor(event.Object); err == nil {
				resourceVersion = m
			}
			if event.Type != watch.Bookmark {
				rec.update(func(s *status) { s.Watch.Events++ })
			}
		}
		w.Stop()
		rec.update(func(s *status) { s.Watch.Open = false })
		if broke {
			sleep(ctx, interval)
		}
	}
}

func metaAccessor(obj interface{}) (string, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return "", fmt.Errorf("%T has no metadata", obj)
	}
	return m.GetResourceVersion(), nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
