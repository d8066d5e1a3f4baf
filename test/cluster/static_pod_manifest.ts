/**
 * Reads a static-pod manifest (a Pod in YAML, as kubeadm writes to /etc/kubernetes/manifests)
 * into what the static-pod runner needs: the pod name, each container's command and its
 * HTTP probes.
 * @module
 */
import { parse } from "yaml";

/** An HTTP(S) GET probe of a container, with the kubelet's defaults filled in. */
export interface HttpProbe {
  /** Host to probe; empty means the pod IP (the node's address for host-network pods). */
  host?: string;
  /** Port number (named ports are resolved against the container's ports). */
  port: number;
  /** Request path. */
  path: string;
  /** `HTTP` or `HTTPS` (certificates are not verified, as the kubelet does). */
  scheme: "HTTP" | "HTTPS";
  /** Seconds between probes. */
  periodSeconds: number;
  /** Seconds per probe. */
  timeoutSeconds: number;
  /** Seconds after start before the first probe. */
  initialDelaySeconds: number;
  /** Consecutive failures before the probe counts as failed. */
  failureThreshold: number;
}

/** One container of a static pod. */
export interface StaticContainer {
  /** Container name. */
  name: string;
  /** `command` followed by `args`. */
  command: string[];
  /** HTTP probes, where the manifest has them. */
  probes: { startup?: HttpProbe; readiness?: HttpProbe; liveness?: HttpProbe };
}

/** The parts of a static pod the runner uses. */
export interface StaticPod {
  /** `metadata.name`, e.g. `kube-apiserver`. */
  name: string;
  /** `metadata.namespace`, `default` when absent. */
  namespace: string;
  /** `metadata.annotations`. */
  annotations: Record<string, string>;
  /** Containers in order. */
  containers: StaticContainer[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses a static-pod manifest; errors name the file and the field. */
export function parseStaticPod(text: string, file: string): StaticPod {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new Error(`Cannot read static pod "${file}": ${(error as Error).message.split("\n")[0]}`);
  }
  const fail = (what: string) => new Error(`Cannot read static pod "${file}": ${what}`);
  if (!isObj(doc) || doc.kind !== "Pod") throw fail("kind is not Pod");
  const metadata = isObj(doc.metadata) ? doc.metadata : {};
  if (typeof metadata.name !== "string" || metadata.name === "") {
    throw fail("metadata.name is missing");
  }
  const spec = isObj(doc.spec) ? doc.spec : undefined;
  if (!spec || !Array.isArray(spec.containers) || spec.containers.length === 0) {
    throw fail("spec.containers is missing");
  }
  const containers = spec.containers.map((c: unknown, i: number): StaticContainer => {
    if (!isObj(c)) throw fail(`spec.containers[${i}] is not an object`);
    const command = [
      ...(Array.isArray(c.command) ? c.command : []),
      ...(Array.isArray(c.args) ? c.args : []),
    ].map(String);
    if (command.length === 0) throw fail(`spec.containers[${i}].command is missing`);
    const ports = Array.isArray(c.ports) ? c.ports.filter(isObj) : [];
    const probe = (key: string): HttpProbe | undefined => {
      const p = c[key];
      if (!isObj(p) || !isObj(p.httpGet)) return undefined;
      const get = p.httpGet;
      let port = get.port;
      if (typeof port === "string" && !/^\d+$/.test(port)) {
        const named = ports.find((cp) => cp.name === port);
        if (!named) throw fail(`spec.containers[${i}].${key}.httpGet.port "${port}" names no port`);
        port = named.containerPort;
      }
      return {
        host: typeof get.host === "string" ? get.host : undefined,
        port: Number(port),
        path: typeof get.path === "string" ? get.path : "/",
        scheme: get.scheme === "HTTPS" ? "HTTPS" : "HTTP",
        periodSeconds: Number(p.periodSeconds ?? 10),
        timeoutSeconds: Number(p.timeoutSeconds ?? 1),
        initialDelaySeconds: Number(p.initialDelaySeconds ?? 0),
        failureThreshold: Number(p.failureThreshold ?? 3),
      };
    };
    return {
      name: String(c.name ?? `container-${i}`),
      command,
      probes: {
        startup: probe("startupProbe"),
        readiness: probe("readinessProbe"),
        liveness: probe("livenessProbe"),
      },
    };
  });
  const annotations: Record<string, string> = {};
  if (isObj(metadata.annotations)) {
    for (const [k, v] of Object.entries(metadata.annotations)) annotations[k] = String(v);
  }
  return {
    name: metadata.name,
    namespace: typeof metadata.namespace === "string" ? metadata.namespace : "default",
    annotations,
    containers,
  };
}

/** Hex SHA-256 of a manifest's bytes: the `manifestHash` the runner reports. */
export async function manifestHash(content: Uint8Array | string): Promise<string> {
  const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
