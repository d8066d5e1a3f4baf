/**
 * Gathers what the verifier needs about each node: whether the kubelet rotates its client
 * certificate (the API server's node proxy `configz`, else the kubelet config file through node
 * access) and its current client certificate (`kubelet-client-current.pem` or kubelet.conf through
 * node access, else the newest issued CSR of `system:node:<name>`).
 * @module
 */
import { posix } from "node:path";
import type { ClusterApi, KubeObject } from "../engine/cluster_api.ts";
import { kubeletConfigFacts } from "../formats/kubelet_config.ts";
import { kubeconfigClientCert } from "../formats/kubeconfig_file.ts";
import type { NodeAccess } from "../engine/node_access.ts";
import { type Layout, PRESET_LAYOUTS } from "../plan/layout.ts";
import type { CertificateFields } from "../pki/mod.ts";
import { type CertificateCache, readClientCertificate } from "./certificate_cache.ts";
import {
  type CsrObject,
  KUBELET_CLIENT_SIGNER,
  KubeletCsrIndex,
  type NodeCsrs,
} from "./csr_index.ts";
import { rawGet } from "./raw_request.ts";
import type { CertificateSource, NodeFacts, RotationSource } from "./report.ts";

/** Where the kubelet's files are on a node, and how it is restarted. */
export type KubeletPaths = Pick<
  Layout,
  "kubeletConfig" | "kubeletKubeconfig" | "kubeletPkiDir" | "manifestsDir" | "kubeletRestart"
>;

/** The kubeadm layout's kubelet paths. */
export const DEFAULT_KUBELET_PATHS: KubeletPaths = {
  kubeletConfig: PRESET_LAYOUTS.kubeadm.kubeletConfig,
  kubeletKubeconfig: PRESET_LAYOUTS.kubeadm.kubeletKubeconfig,
  kubeletPkiDir: PRESET_LAYOUTS.kubeadm.kubeletPkiDir,
  manifestsDir: PRESET_LAYOUTS.kubeadm.manifestsDir,
  kubeletRestart: PRESET_LAYOUTS.kubeadm.kubeletRestart,
};

/** The file name of the kubelet's current client certificate and key. */
export const CURRENT_CLIENT_PEM = "kubelet-client-current.pem";

/** A rotation setting, cached across the rounds of a wait (it does not change by itself). */
export interface RotationSetting {
  readonly enabled?: boolean;
  readonly source: RotationSource;
}

/** Options of {@link gatherNodeFacts}. */
export interface GatherOptions {
  readonly cluster: ClusterApi;
  /** Every node ca-rotator can reach (control plane and workers). */
  readonly nodes: readonly NodeAccess[];
  readonly paths: KubeletPaths;
  /** Ask the kubelets through the API server's node proxy (`configz`). Default true. */
  readonly configz?: boolean;
  /** Per-request timeout of `configz`. Default 3000 ms. */
  readonly configzTimeoutMs?: number;
  /** Nodes examined at once. Default 32. */
  readonly concurrency?: number;
  /** Rotation settings already read, by node; filled as settings are read. */
  readonly rotationCache?: Map<string, RotationSetting>;
  /**
   * The certificates already read from the nodes in earlier rounds of a wait, by node: a node's
   * files are read again only when its kubelet CSRs changed (a rotation goes through a CSR), so
   * a long wait does not cost a remote round trip per node per round. Filled as files are read.
   */
  readonly certificateCache?: Map<string, CachedCertificate>;
  /** Reads the certificates of CSRs, each distinct one once (across the rounds of a wait). */
  readonly certificates?: Pick<CertificateCache, "read">;
  /** Only these nodes. */
  readonly only?: readonly string[];
}

/** A node's certificate as read, and the state of its CSRs then. */
export interface CachedCertificate {
  readonly csrs: string;
  readonly found: FoundCertificate | undefined;
}

/** What of a node's CSRs changes when its kubelet rotates: the newest and the newest issued. */
function csrsKey(csrs: NodeCsrs | undefined): string {
  return JSON.stringify([csrs?.newest.name, csrs?.newest.state, csrs?.newestIssued?.name]);
}

/**
 * Whether the certificate read is the one the node's newest issued CSR got (or the node has
 * none): until its kubelet installs what it was issued, its files are read every round.
 */
function installed(
  found: FoundCertificate | undefined,
  csrs: NodeCsrs | undefined,
  read: ReadCertificate,
): boolean {
  const issued = csrs?.newestIssued?.certificatePem;
  if (!issued) return true;
  if (!found) return false;
  try {
    return read(issued, "CSR").serialNumber === found.cert.serialNumber;
  } catch {
    return false;
  }
}

/** After this many failed `configz` requests without one success, `configz` is not asked again. */
const CONFIGZ_GIVE_UP = 8;

/** Gathers the facts of every registered or reachable node, in no particular order. */
export async function gatherNodeFacts(options: GatherOptions): Promise<NodeFacts[]> {
  // page by page, only node names (a table of them) and CSR summaries, not the objects
  const registeredNames = new Set<string>();
  const csrIndex = new KubeletCsrIndex();
  await Promise.all([
    options.cluster.listEach<KubeObject>("v1", "Node", { namesOnly: true }, (node) => {
      if (node.metadata?.name) registeredNames.add(node.metadata.name);
    }),
    options.cluster.listEach<CsrObject>(
      "certificates.k8s.io/v1",
      "CertificateSigningRequest",
      { fieldSelector: `spec.signerName=${KUBELET_CLIENT_SIGNER}` },
      (csr) => csrIndex.add(csr),
    ),
  ]);
  const access = new Map(options.nodes.map((n) => [n.name, n]));
  let names = [...new Set([...registeredNames, ...access.keys()])];
  if (options.only) names = names.filter((n) => options.only!.includes(n));
  const index = csrIndex.byNode;
  const cache = options.rotationCache ?? new Map<string, RotationSetting>();
  const configz = { enabled: options.configz ?? true, failures: 0, successes: 0 };
  const read: ReadCertificate = options.certificates
    ? (pem, source) => options.certificates!.read(pem, source)
    : readClientCertificate;

  return await mapLimit(names, options.concurrency ?? 32, async (name) => {
    const node = access.get(name);
    const problems: string[] = [];
    let rotation = cache.get(name);
    if (!rotation) {
      rotation = await readRotation(
        name,
        registeredNames.has(name),
        node,
        options,
        configz,
        problems,
      );
      if (rotation.source !== "none") cache.set(name, rotation);
    }
    const csrs = csrsKey(index.get(name));
    const cached = options.certificateCache?.get(name);
    let found: FoundCertificate | undefined;
    if (cached && cached.csrs === csrs && installed(cached.found, index.get(name), read)) {
      found = cached.found;
    } else if (node) {
      const read = problems.length;
      found = await readNodeCertificate(node, options.paths, problems);
      if (problems.length === read) options.certificateCache?.set(name, { csrs, found });
    }
    return nodeFacts({
      name,
      registered: registeredNames.has(name),
      node,
      rotation,
      found,
      csrs: index.get(name),
      problems,
      read,
    });
  });
}

/** Reads a certificate from PEM text (`source` names it in errors). */
export type ReadCertificate = (pem: string, source: string) => CertificateFields;

/** A certificate found on a node. */
export interface FoundCertificate {
  readonly cert: CertificateFields;
  readonly source: CertificateSource;
  readonly origin: string;
}

/** Combines what was read into a node's facts (pure). */
export function nodeFacts(input: {
  name: string;
  registered: boolean;
  node?: NodeAccess;
  rotation: RotationSetting;
  found?: FoundCertificate;
  csrs?: NodeCsrs;
  problems?: string[];
  /** Reads the CSR's certificate. Default: {@link readClientCertificate}. */
  read?: ReadCertificate;
}): NodeFacts {
  const problems = input.problems ?? [];
  let found = input.found;
  const csrs = input.csrs;
  if (!found && csrs?.newestIssued?.certificatePem) {
    try {
      found = {
        cert: (input.read ?? readClientCertificate)(
          csrs.newestIssued.certificatePem,
          `CSR ${csrs.newestIssued.name}`,
        ),
        source: "csr",
        origin: csrs.newestIssued.name,
      };
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  const open = csrs && csrs.newest !== csrs.newestIssued &&
      (!found || Date.parse(csrs.newest.created) >= found.cert.notBefore.getTime())
    ? csrs.newest
    : undefined;
  return {
    name: input.name,
    registered: input.registered,
    nodeAccess: input.node !== undefined,
    ...(input.rotation.enabled !== undefined ? { rotationEnabled: input.rotation.enabled } : {}),
    rotationSource: input.rotation.source,
    ...(found
      ? {
        certificate: found.cert,
        certificateSource: found.source,
        certificateOrigin: found.origin,
      }
      : {}),
    ...(open ? { openCsr: open } : {}),
    ...(problems.length ? { problems } : {}),
  };
}

async function readRotation(
  name: string,
  registered: boolean,
  node: NodeAccess | undefined,
  options: GatherOptions,
  configz: { enabled: boolean; failures: number; successes: number },
  problems: string[],
): Promise<RotationSetting> {
  if (registered && configz.enabled) {
    const enabled = await readConfigz(name, options);
    if (enabled !== undefined) {
      configz.successes++;
      return { enabled, source: "configz" };
    }
    configz.failures++;
    if (configz.successes === 0 && configz.failures >= CONFIGZ_GIVE_UP) configz.enabled = false;
  }
  if (node) {
    try {
      const text = await node.readFile(options.paths.kubeletConfig);
      if (text !== undefined) {
        return {
          enabled: kubeletConfigFacts(text, `${name}:${options.paths.kubeletConfig}`)
            .rotateCertificates,
          source: "node-file",
        };
      }
      problems.push(`${options.paths.kubeletConfig} does not exist`);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return { source: "none" };
}

/** `rotateCertificates` from the kubelet's `configz`, or `undefined` when it cannot be read. */
async function readConfigz(name: string, options: GatherOptions): Promise<boolean | undefined> {
  try {
    const response = await rawGet(
      options.cluster.kubeConfig,
      `/api/v1/nodes/${encodeURIComponent(name)}/proxy/configz`,
      options.configzTimeoutMs ?? 3000,
    );
    if (response.status !== 200) return undefined;
    const config = JSON.parse(response.body)?.kubeletconfig;
    if (!config || typeof config !== "object") return undefined;
    return config.rotateCertificates === true;
  } catch {
    return undefined;
  }
}

/** The kubelet's current client certificate from its files: the rotated PEM, else kubelet.conf. */
export async function readNodeCertificate(
  node: NodeAccess,
  paths: KubeletPaths,
  problems: string[] = [],
): Promise<FoundCertificate | undefined> {
  const current = posix.join(paths.kubeletPkiDir, CURRENT_CLIENT_PEM);
  const tryFile = async (path: string, source: CertificateSource) => {
    const text = await node.readFile(path);
    if (text === undefined) return undefined;
    return { cert: readClientCertificate(text, `${node.name}:${path}`), source, origin: path };
  };
  try {
    const found = await tryFile(current, "node-file");
    if (found) return found;
    const kubeconfig = await node.readFile(paths.kubeletKubeconfig);
    if (kubeconfig === undefined) return undefined;
    const user = kubeconfigClientCert(kubeconfig, `${node.name}:${paths.kubeletKubeconfig}`);
    if (user.certPem) {
      return {
        cert: readClientCertificate(user.certPem, `${node.name}:${paths.kubeletKubeconfig}`),
        source: "kubelet.conf",
        origin: paths.kubeletKubeconfig,
      };
    }
    if (user.certFile && user.certFile !== current) {
      return await tryFile(user.certFile, "node-file");
    }
  } catch (error) {
    problems.push((error as Error).message);
  }
  return undefined;
}

/** Maps `items` with at most `limit` calls of `fn` at once, keeping the order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
