/**
 * What a per-node mount and network namespace would do, done by rewriting arguments (the nodes
 * of a test cluster share one network namespace, with an address each):
 * a static-pod manifest says `/etc/kubernetes/pki/ca.crt` and `127.0.0.1`, exactly as
 * kubeadm wrote it; the process started for node root R with address A gets
 * `R/etc/kubernetes/pki/ca.crt` and `A`.
 * @module
 */
import { join } from "node:path";

/** Absolute directories that live inside a node root (the node's own files). */
export const NODE_ROOT_PREFIXES = [
  "/etc/kubernetes",
  "/var/lib/kubelet",
  "/var/lib/etcd",
  "/var/log/kubernetes",
] as const;

/** The node a process runs on: its root directory and its own address. */
export interface NodeContext {
  /** Directory standing for the node's `/`. */
  root: string;
  /** The node's address, standing for its `127.0.0.1` and `0.0.0.0`. */
  ip: string;
}

/** Maps an absolute path on a node to the host path inside the node root: `R` + path. */
export function hostPath(root: string, nodePath: string): string {
  if (!nodePath.startsWith("/")) {
    throw new Error(`Cannot map "${nodePath}" into node root ${root}: not an absolute path`);
  }
  return join(root, nodePath);
}

const prefixAlternatives = NODE_ROOT_PREFIXES.map((p) => p.replaceAll("/", "\\/")).join("|");
const pathPattern = new RegExp(`(^|[=,])((?:${prefixAlternatives})(?=$|[/,]))`, "g");
const addressPattern = /(^|[=,/[])(127\.0\.0\.1|0\.0\.0\.0)(?=$|[:,/\]])/g;

/**
 * Rewrites one command-line argument for a node: paths under {@linkcode NODE_ROOT_PREFIXES}
 * get the node root in front, `127.0.0.1` and `0.0.0.0` become the node's address, and a
 * comma-separated URL list that now names one URL twice keeps it once.
 */
export function mapArgument(arg: string, node: NodeContext): string {
  const mapped = arg
    .replace(pathPattern, (_m, lead: string, path: string) => `${lead}${join(node.root, path)}`)
    .replace(addressPattern, (_m, lead: string) => `${lead}${node.ip}`);
  const eq = mapped.indexOf("=");
  if (eq < 0 || !mapped.includes(",")) return mapped;
  const items = mapped.slice(eq + 1).split(",");
  if (!items.every((item) => item.includes("://"))) return mapped;
  return `${mapped.slice(0, eq + 1)}${[...new Set(items)].join(",")}`;
}

/** Components that listen on all addresses unless told otherwise. */
const BINDS_ALL_BY_DEFAULT = new Set([
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
]);

/**
 * Builds the argv of a static-pod container for a node: the binary from `binDir`, every
 * argument mapped with {@linkcode mapArgument}, and `--bind-address=<node address>` added to
 * the Kubernetes components that would otherwise listen on all addresses (in a network
 * namespace per node that would be harmless; the nodes of a test cluster share one).
 */
export function mapCommand(command: string[], node: NodeContext, binDir: string): string[] {
  if (command.length === 0) throw new Error("Cannot map an empty command");
  const [binary, ...args] = command;
  const name = binary.split("/").pop()!;
  const mapped = args.map((arg) => mapArgument(arg, node));
  if (BINDS_ALL_BY_DEFAULT.has(name) && !args.some((a) => a.startsWith("--bind-address="))) {
    mapped.push(`--bind-address=${node.ip}`);
  }
  return [join(binDir, name), ...mapped];
}

/** Maps a probe's host (empty means the pod IP, which for host-network pods is the node's). */
export function mapHost(host: string | undefined, node: NodeContext): string {
  if (!host || host === "127.0.0.1" || host === "0.0.0.0" || host === "localhost") return node.ip;
  return host;
}
