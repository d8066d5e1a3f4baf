package main

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clientset "k8s.io/client-go/kubernetes"
)

// leaseDurationSeconds is the kubelet's default nodeLeaseDurationSeconds.
const leaseDurationSeconds = 40

// registration is what the Node is registered with when it is missing.
type registration struct {
	labels         map[string]string
	annotations    map[string]string
	addresses      []corev1.NodeAddress
	kubeletVersion string
}

// heartbeat keeps a Node's Lease renewed and its Ready condition True, as the kubelet's node
// lease controller and node status updater do (without pods, images or resources to report).
type heartbeat struct {
	name           string
	reg            registration
	report         *report
	log            func(string, ...any)
	lastStatusPost time.Time
	// servingPort, when not 0, is kept in status.daemonEndpoints.kubeletEndpoint.Port (where the
	// API server's node proxy dials the kubelet).
	servingPort int32
	// flush writes the status file: before Ready is posted, so that whoever sees the node Ready
	// reads a status that already counts the requests that made it so.
	flush func()
}

// countUnexpected counts a failed call whose kind the counting transport did not see: a response
// that is no 401, 403 or 5xx but still an error (e.g. 409, 422).
func (h *heartbeat) countUnexpected(what string, err error) {
	var status apierrors.APIStatus
	if errors.As(err, &status) && classifyStatus(int(status.Status().Code)) == "" {
		h.report.recordError(kindHTTP, what+": "+err.Error(), true)
	}
}

// beat registers the Node if missing, renews its Lease and posts Ready when it is not True (or
// every minute). Failures are counted, not returned.
func (h *heartbeat) beat(ctx context.Context, client clientset.Interface) {
	node, err := client.CoreV1().Nodes().Get(ctx, h.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node = nil
		created := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: h.name, Labels: h.reg.labels, Annotations: h.reg.annotations},
			Status: corev1.NodeStatus{
				Addresses: h.reg.addresses,
				NodeInfo:  corev1.NodeSystemInfo{KubeletVersion: h.reg.kubeletVersion},
			},
		}
		if _, err := client.CoreV1().Nodes().Create(ctx, created, metav1.CreateOptions{}); err != nil {
			h.countUnexpected("register node", err)
			return
		}
		h.log("registered node")
	} else if err != nil {
		h.countUnexpected("get node", err)
		return
	}

	now := time.Now()
	renew := metav1.NewMicroTime(now)
	spec := coordinationv1.LeaseSpec{
		HolderIdentity:       ptr(h.name),
		LeaseDurationSeconds: ptr(int32(leaseDurationSeconds)),
		RenewTime:            &renew,
	}
	patch, _ := json.Marshal(map[string]any{"spec": spec})
	leases := client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	if _, err := leases.Patch(ctx, h.name, types.MergePatchType, patch, metav1.PatchOptions{}); apierrors.IsNotFound(err) {
		lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: h.name, Namespace: corev1.NamespaceNodeLease}, Spec: spec}
		if _, err := leases.Create(ctx, lease, metav1.CreateOptions{}); err != nil {
			h.countUnexpected("create lease", err)
			return
		}
	} else if err != nil {
		h.countUnexpected("renew lease", err)
		return
	}

	if node == nil {
		return
	}
	h.publishPort(ctx, client, node)
	var ready *corev1.NodeCondition
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == corev1.NodeReady {
			ready = &node.Status.Conditions[i]
		}
	}
	// Until the runtime (kwok) has initialised the node's status there is no Ready to keep.
	if ready == nil || (ready.Status == corev1.ConditionTrue && now.Sub(h.lastStatusPost) < time.Minute) {
		return
	}
	h.flush()
	condition := corev1.NodeCondition{
		Type:              corev1.NodeReady,
		Status:            corev1.ConditionTrue,
		Reason:            "KubeletReady",
		Message:           "kubelet is posting ready status (kubelet-client)",
		LastHeartbeatTime: metav1.NewTime(now),
	}
	if ready.Status == corev1.ConditionTrue {
		condition.LastTransitionTime = ready.LastTransitionTime
	} else {
		condition.LastTransitionTime = metav1.NewTime(now)
	}
	patch, _ = json.Marshal(map[string]any{"status": map[string]any{"conditions": []corev1.NodeCondition{condition}}})
	if _, err := client.CoreV1().Nodes().Patch(ctx, h.name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		h.countUnexpected("post node status", err)
		return
	}
	h.lastStatusPost = now
	if ready.Status != corev1.ConditionTrue {
		h.log("posted Ready")
	}
}

// publishPort sets status.daemonEndpoints.kubeletEndpoint.Port to the serving port once the
// runtime (kwok) has initialised the status (its initial status names its own port).
func (h *heartbeat) publishPort(ctx context.Context, client clientset.Interface, node *corev1.Node) {
	if h.servingPort == 0 || node.Status.DaemonEndpoints.KubeletEndpoint.Port == h.servingPort || len(node.Status.Conditions) == 0 {
		return
	}
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{
		"daemonEndpoints": map[string]any{"kubeletEndpoint": map[string]any{"Port": h.servingPort}},
	}})
	if _, err := client.CoreV1().Nodes().Patch(ctx, h.name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		h.countUnexpected("publish kubelet port", err)
		return
	}
	h.log("published kubelet port %d", h.servingPort)
}
