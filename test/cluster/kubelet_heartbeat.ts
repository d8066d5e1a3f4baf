/**
 * The emulated kubelet's node status client: each heartbeat it registers its Node if missing,
 * renews its Lease in kube-node-lease and posts the Ready condition when it is not True (or
 * every minute). When that stops working the failures are counted (by the API client) and
 * the node goes NotReady.
 * @module
 */
import { ApiError, type KubeletApiClient } from "./kubelet_api_client.ts";

/** What the Node is registered with (registration only happens when it is missing). */
export interface NodeRegistration {
  /** Labels the Node is registered with (registration only happens when it is missing). */
  labels?: Record<string, string>;
  /** Annotations the Node is registered with. */
  annotations?: Record<string, string>;
  /** Addresses the Node is registered with (`status.addresses`). */
  addresses?: { type: string; address: string }[];
  /** Kubelet version the Node is registered with (`status.nodeInfo.kubeletVersion`). */
  kubeletVersion?: string;
}

/** Options of {@linkcode NodeHeartbeat}. */
export interface NodeHeartbeatOptions extends NodeRegistration {
  /** Node name (also the Lease's name and holder). */
  nodeName: string;
  /** The kubelet's API client. */
  api: KubeletApiClient;
  /** Receives one line per event. */
  log: (line: string) => void;
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** The Node, Lease and Ready condition of one emulated kubelet. */
export class NodeHeartbeat {
  #o: NodeHeartbeatOptions;
  #lastStatusPost = 0;

  /** Creates the heartbeat of a node; call {@linkcode beat} every heartbeat. */
  constructor(options: NodeHeartbeatOptions) {
    this.#o = options;
  }

  /** One heartbeat; failures are counted, not thrown. */
  async beat(): Promise<void> {
    const name = this.#o.nodeName;
    const api = this.#o.api;
    try {
      // Node: register if missing, post Ready when it is not (or every minute).
      const nodeResponse = await api.request("GET", `/api/v1/nodes/${name}`);
      let node: { status?: { conditions?: { type: string; status: string }[] } } | undefined;
      if (nodeResponse.status === 404) {
        await nodeResponse.body?.cancel();
        const created = await api.request("POST", "/api/v1/nodes", {
          apiVersion: "v1",
          kind: "Node",
          metadata: { name, labels: this.#o.labels ?? {}, annotations: this.#o.annotations ?? {} },
          status: {
            ...(this.#o.addresses ? { addresses: this.#o.addresses } : {}),
            ...(this.#o.kubeletVersion
              ? { nodeInfo: { kubeletVersion: this.#o.kubeletVersion } }
              : {}),
          },
        });
        if (created.status >= 300) {
          throw api.fail("http", `register node: ${created.status} ${await created.text()}`);
        }
        await created.body?.cancel();
        this.#o.log("registered node");
      } else if (nodeResponse.ok) {
        node = await nodeResponse.json();
      } else {
        throw api.fail("http", `get node: ${nodeResponse.status} ${await nodeResponse.text()}`);
      }

      const now = new Date();
      const renewTime = microTime(now);
      const lease = await api.request(
        "PATCH",
        `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}`,
        { spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime } },
        "application/merge-patch+json",
      );
      if (lease.status === 404) {
        await lease.body?.cancel();
        const created = await api.request(
          "POST",
          "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
          {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name, namespace: "kube-node-lease" },
            spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime },
          },
        );
        if (created.status >= 300) {
          throw api.fail("http", `create lease: ${created.status} ${await created.text()}`);
        }
        await created.body?.cancel();
      } else if (!lease.ok) {
        throw api.fail("http", `renew lease: ${lease.status} ${await lease.text()}`);
      } else {
        await lease.body?.cancel();
      }

      const ready = node?.status?.conditions?.find((c) => c.type === "Ready");
      // Until the runtime (kwok) has initialised the node's status there is no Ready to keep.
      if (ready && (ready.status !== "True" || now.getTime() - this.#lastStatusPost > 60_000)) {
        const condition = {
          type: "Ready",
          status: "True",
          reason: "KubeletReady",
          message: "kubelet is posting ready status (emulated)",
          lastHeartbeatTime: now.toISOString().replace(/\.\d+Z$/, "Z"),
          ...(ready.status === "True"
            ? {}
            : { lastTransitionTime: now.toISOString().replace(/\.\d+Z$/, "Z") }),
        };
        const patched = await api.request(
          "PATCH",
          `/api/v1/nodes/${name}/status`,
          { status: { conditions: [condition] } },
          "application/strategic-merge-patch+json",
        );
        if (!patched.ok) {
          throw api.fail("http", `post node status: ${patched.status} ${await patched.text()}`);
        }
        await patched.body?.cancel();
        this.#lastStatusPost = now.getTime();
        if (ready.status !== "True") this.#o.log("posted Ready");
      }
    } catch (error) {
      // ApiErrors are counted where they are made; anything else is a bug worth seeing
      if (!(error instanceof ApiError)) api.fail("http", String(error));
    }
  }
}
