/**
 * What `init` reads from the cluster to write a plan for it, through the API only and without a
 * single write: the Nodes, the API-server endpoints, the kubeadm and kubelet configuration the
 * cluster holds, the static pods its kubelets mirror, the APIServices and webhooks whose
 * `caBundle` holds the current cluster CA, the controller-manager's signing flags and the legacy
 * service-account token Secrets. Each read that fails is named (`list Secrets …`), so a
 * kubeconfig that lacks a permission says which. The pure parts (flags of a mirror pod,
 * endpoints of a slice, kubeadm's `extraArgs`) are exported for their tests.
 * @module
 */
import { parse } from "yaml";
import type { ClusterApi, KubeObject } from "../engine/cluster_api.ts";
import { fingerprintsOf } from "../pki/mod.ts";
import { caBundleConsumers } from "../steps/_ca_bundle_consumers.ts";
import { listTokenSecrets, objectKey } from "../steps/_token_secrets.ts";

/** The label kubeadm puts on control-plane Nodes. */
export const CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane";

/** The annotation the kubelet puts on the mirror pod of a static pod. */
export const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";

/** The annotation kubeadm puts on the kube-apiserver pod: `<advertise address>:<port>`. */
export const ADVERTISE_ANNOTATION =
  "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint";

/** The static pods every plan already covers: the control-plane components and etcd. */
export const COMPONENT_PODS = [
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "etcd",
  "cloud-controller-manager",
] as const;

/** One Node of the cluster. */
export interface NodeFact {
  readonly name: string;
  /** Labelled `node-role.kubernetes.io/control-plane`. */
  readonly controlPlane: boolean;
  /** `status.addresses`, in order. */
  readonly addresses: readonly { readonly type: string; readonly address: string }[];
}

/** A static pod besides the components that mounts something under the kubeconfig directory. */
export interface StaticPodFact {
  /** `metadata.name` in its manifest (the mirror pod's name without `-<node>`). */
  readonly name: string;
  /** The nodes it runs on. */
  readonly nodes: readonly string[];
  /** Its hostPath volumes under the kubeconfig or PKI directory. */
  readonly mounts: readonly string[];
}

/** Where a fact was read from, for the plan's comments. */
export interface Sourced<T> {
  readonly value: T;
  /** e.g. `the kube-apiserver mirror pods`, `ConfigMap kube-system/kubeadm-config`. */
  readonly source: string;
}

/** Everything `init` knows about the cluster. */
export interface ClusterFacts {
  /** The kubeconfig's server: the load balancer ca-rotator talks through. */
  readonly server: string;
  /** The kubeconfig context. */
  readonly context: string;
  /** kubeadm's `clusterName`, when kubeadm-config exists. */
  readonly clusterName?: string;
  readonly nodes: readonly NodeFact[];
  /** `https://` URLs of the API servers; empty when none were found. */
  readonly apiServerEndpoints: Sourced<readonly string[]>;
  /** kubeadm's `certificatesDir`, when kubeadm-config sets it. */
  readonly certificatesDir?: string;
  /** The kubelets' `staticPodPath`, when kubelet-config sets it. */
  readonly staticPodPath?: string;
  /** Whether the kubelets serve certificates from kubelet-serving CSRs, and why init thinks so. */
  readonly serverTlsBootstrap: Sourced<boolean>;
  /** The controller-manager's `--cluster-signing-*` flags (none: kubeadm's default, ca.crt). */
  readonly signingFlags: Sourced<Readonly<Record<string, string>>>;
  /** `Kind/name` of the APIServices and webhook configurations whose caBundle holds the CA. */
  readonly caBundleObjects: readonly string[];
  /** `namespace/name` of the legacy service-account token Secrets. */
  readonly tokenSecrets: readonly string[];
  /** Static pods besides the components that mount kubeconfigs or the PKI directory. */
  readonly staticPods: readonly StaticPodFact[];
}

interface NodeObject extends KubeObject {
  status?: { addresses?: { type?: string; address?: string }[] };
}

interface PodObject extends KubeObject {
  spec?: {
    nodeName?: string;
    volumes?: { hostPath?: { path?: string } }[];
    containers?: { command?: string[]; args?: string[] }[];
  };
}

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

interface EndpointSlice extends KubeObject {
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean } }[];
  ports?: { name?: string; port?: number }[];
}

interface Endpoints extends KubeObject {
  subsets?: { addresses?: { ip?: string }[]; ports?: { name?: string; port?: number }[] }[];
}

/** A failed read, naming the request (a kubeconfig without the permission reads which). */
export class ClusterReadError extends Error {
  constructor(request: string, cause: unknown) {
    super(
      `Cannot read the cluster: ${request}: ${cause instanceof Error ? cause.message : cause}` +
        " (init reads Nodes, Pods, ConfigMaps, Secrets of type service-account-token, " +
        "EndpointSlices, CertificateSigningRequests, APIServices and webhook configurations: " +
        "run it with a kubeconfig that may get and list them, e.g. a cluster admin's)",
      { cause },
    );
    this.name = "ClusterReadError";
  }
}

async function named<T>(request: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new ClusterReadError(request, error);
  }
}

/** Pure: the `--flag=value` flags of a container command (and args), by flag name. */
export function commandFlags(words: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (const word of words) {
    const match = /^(--[^=]+)=(.*)$/.exec(word);
    if (match) flags.set(match[1], match[2]);
  }
  return flags;
}

/** Pure: `https://host:port`, with an IPv6 host in brackets. */
export function endpointUrl(host: string, port: number | string): string {
  return `https://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${port}`;
}

/** Pure: the API servers a kube-apiserver mirror pod names (kubeadm's annotation, else flags). */
export function mirrorPodEndpoint(pod: PodObject): string | undefined {
  const annotated = pod.metadata?.annotations?.[ADVERTISE_ANNOTATION];
  if (annotated) return `https://${annotated}`;
  const container = pod.spec?.containers?.[0];
  const flags = commandFlags([...(container?.command ?? []), ...(container?.args ?? [])]);
  const address = flags.get("--advertise-address");
  return address ? endpointUrl(address, flags.get("--secure-port") ?? 6443) : undefined;
}

/** Pure: the endpoints of the `kubernetes` Service's EndpointSlices (port `https`). */
export function sliceEndpoints(slices: readonly EndpointSlice[]): string[] {
  const urls: string[] = [];
  for (const slice of slices) {
    const port = slice.ports?.find((each) => each.name === "https")?.port ?? slice.ports?.[0]?.port;
    if (port === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      for (const address of endpoint.addresses ?? []) urls.push(endpointUrl(address, port));
    }
  }
  return [...new Set(urls)].sort();
}

/** Pure: the endpoints of the `kubernetes` Endpoints object (port `https`). */
export function endpointsUrls(endpoints: Endpoints | undefined): string[] {
  const urls: string[] = [];
  for (const subset of endpoints?.subsets ?? []) {
    const port = subset.ports?.find((each) => each.name === "https")?.port ??
      subset.ports?.[0]?.port;
    if (port === undefined) continue;
    for (const address of subset.addresses ?? []) {
      if (address.ip) urls.push(endpointUrl(address.ip, port));
    }
  }
  return [...new Set(urls)].sort();
}

/**
 * Pure: kubeadm's `extraArgs` of a component as flags: a list of `{name, value}` (v1beta4) or a
 * map (v1beta3).
 */
export function extraArgsFlags(extraArgs: unknown): Map<string, string> {
  const flags = new Map<string, string>();
  if (Array.isArray(extraArgs)) {
    for (const arg of extraArgs) {
      if (arg && typeof arg.name === "string") flags.set(`--${arg.name}`, String(arg.value ?? ""));
    }
  } else if (extraArgs && typeof extraArgs === "object") {
    for (const [name, value] of Object.entries(extraArgs)) flags.set(`--${name}`, String(value));
  }
  return flags;
}

/** Pure: only the `--cluster-signing-*` file flags. */
export function signingFlagsOf(flags: ReadonlyMap<string, string>): Record<string, string> {
  return Object.fromEntries(
    [...flags].filter(([flag]) => /^--cluster-signing-.*(cert|key)-file$/.test(flag)).sort(),
  );
}

/** Pure: the mirror pod's name in its manifest: its name without `-<node>`. */
export function manifestPodName(pod: PodObject): string {
  const name = pod.metadata?.name ?? "";
  const suffix = `-${pod.spec?.nodeName ?? ""}`;
  return pod.spec?.nodeName && name.endsWith(suffix) ? name.slice(0, -suffix.length) : name;
}

/**
 * Pure: the static pods besides the components (by their mirror pods) whose hostPath volumes
 * lie under one of `dirs` (the kubeconfig and PKI directories), one entry per manifest name.
 */
export function staticPodsMounting(
  mirrorPods: readonly PodObject[],
  dirs: readonly string[],
): StaticPodFact[] {
  const under = (path: string) =>
    dirs.some((dir) => path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`));
  const found = new Map<string, { nodes: Set<string>; mounts: Set<string> }>();
  for (const pod of mirrorPods) {
    const name = manifestPodName(pod);
    if ((COMPONENT_PODS as readonly string[]).includes(name)) continue;
    const mounts = (pod.spec?.volumes ?? []).map((volume) => volume.hostPath?.path)
      .filter((path): path is string => path !== undefined && under(path));
    if (mounts.length === 0) continue;
    const entry = found.get(name) ?? { nodes: new Set(), mounts: new Set() };
    entry.nodes.add(pod.spec?.nodeName ?? "");
    for (const mount of mounts) entry.mounts.add(mount);
    found.set(name, entry);
  }
  return [...found].sort(([a], [b]) => a.localeCompare(b)).map(([name, entry]) => ({
    name,
    nodes: [...entry.nodes].sort(),
    mounts: [...entry.mounts].sort(),
  }));
}

function component(pod: PodObject): string {
  return pod.metadata?.labels?.component ?? manifestPodName(pod);
}

function yamlKey(configMap: ConfigMap | undefined, key: string): Record<string, unknown> {
  const text = configMap?.data?.[key];
  if (!text) return {};
  try {
    const value = parse(text);
    return value && typeof value === "object" ? value as Record<string, unknown> : {};
  } catch {
    return {};
  }
}

/** The kubeconfig's side of the facts. */
export interface ConnectionFacts {
  /** The kubeconfig's server. */
  readonly server: string;
  /** The current context. */
  readonly context: string;
}

/**
 * Reads the facts of the cluster (gets and lists only).
 * @throws {ClusterReadError} naming the request that failed.
 */
export async function readClusterFacts(
  cluster: ClusterApi,
  connection: ConnectionFacts,
): Promise<ClusterFacts> {
  const nodes = (await named(
    "list Nodes",
    () => cluster.list<NodeObject>("v1", "Node"),
  )).map((node): NodeFact => ({
    name: node.metadata?.name ?? "",
    controlPlane: CONTROL_PLANE_LABEL in (node.metadata?.labels ?? {}),
    addresses: (node.status?.addresses ?? []).map((each) => ({
      type: each.type ?? "",
      address: each.address ?? "",
    })),
  })).sort((a, b) => a.name.localeCompare(b.name));

  const mirrorPods: PodObject[] = [];
  await named(
    "list Pods (every namespace)",
    () =>
      cluster.listEach<PodObject>("v1", "Pod", {}, (pod) => {
        if (pod.metadata?.annotations?.[MIRROR_ANNOTATION] !== undefined) mirrorPods.push(pod);
      }),
  );
  const ofComponent = (name: string) => mirrorPods.filter((pod) => component(pod) === name);

  const kubeadmConfig = await named(
    "get ConfigMap kube-system/kubeadm-config",
    () =>
      cluster.read<ConfigMap>({
        apiVersion: "v1",
        kind: "ConfigMap",
        namespace: "kube-system",
        name: "kubeadm-config",
      }),
  );
  const clusterConfiguration = yamlKey(kubeadmConfig, "ClusterConfiguration");
  const kubeletConfigMap = await named(
    "get ConfigMap kube-system/kubelet-config",
    () =>
      cluster.read<ConfigMap>({
        apiVersion: "v1",
        kind: "ConfigMap",
        namespace: "kube-system",
        name: "kubelet-config",
      }),
  );
  const kubeletConfig = yamlKey(kubeletConfigMap, "kubelet");

  const apiServerEndpoints = await endpointsOf(cluster, ofComponent("kube-apiserver"));

  const controllerManagers = ofComponent("kube-controller-manager");
  const signingFlags: Sourced<Record<string, string>> = controllerManagers.length > 0
    ? {
      value: signingFlagsOf(commandFlags([
        ...(controllerManagers[0].spec?.containers?.[0]?.command ?? []),
        ...(controllerManagers[0].spec?.containers?.[0]?.args ?? []),
      ])),
      source: `the kube-controller-manager mirror pod ${objectKey(controllerManagers[0])}`,
    }
    : {
      value: signingFlagsOf(extraArgsFlags(
        (clusterConfiguration.controllerManager as { extraArgs?: unknown } | undefined)
          ?.extraArgs,
      )),
      source: kubeadmConfig
        ? "controllerManager.extraArgs of ConfigMap kube-system/kubeadm-config"
        : "nowhere (no controller-manager mirror pod, no kubeadm-config)",
    };

  const servingCsrs = await named(
    "list CertificateSigningRequests (signer kubernetes.io/kubelet-serving)",
    () =>
      cluster.list("certificates.k8s.io/v1", "CertificateSigningRequest", {
        fieldSelector: "spec.signerName=kubernetes.io/kubelet-serving",
      }),
  );
  const bootstrapSet = kubeletConfig.serverTLSBootstrap === true;
  const serverTlsBootstrap: Sourced<boolean> = {
    value: bootstrapSet || servingCsrs.length > 0,
    source: [
      kubeletConfigMap
        ? `ConfigMap kube-system/kubelet-config ${
          bootstrapSet ? "sets" : "does not set"
        } serverTLSBootstrap: true`
        : "no ConfigMap kube-system/kubelet-config",
      `${servingCsrs.length} kubelet-serving CertificateSigningRequests`,
    ].join("; "),
  };

  const rootCa = await named(
    "get ConfigMap kube-system/kube-root-ca.crt",
    () =>
      cluster.read<ConfigMap>({
        apiVersion: "v1",
        kind: "ConfigMap",
        namespace: "kube-system",
        name: "kube-root-ca.crt",
      }),
  );
  const caPem = rootCa?.data?.["ca.crt"];
  const caPrints = caPem ? await fingerprintsOf(caPem).catch(() => []) : [];
  const consumers = caPrints.length === 0 ? [] : await named(
    "list APIServices and validating/mutating webhook configurations",
    () => caBundleConsumers(cluster, caPrints),
  );

  const tokenSecrets = await named(
    "list Secrets of type kubernetes.io/service-account-token (every namespace)",
    () => listTokenSecrets(cluster),
  );

  const certificatesDir = typeof clusterConfiguration.certificatesDir === "string"
    ? clusterConfiguration.certificatesDir
    : undefined;
  const staticPodPath = typeof kubeletConfig.staticPodPath === "string"
    ? kubeletConfig.staticPodPath
    : undefined;
  return {
    server: connection.server,
    context: connection.context,
    clusterName: typeof clusterConfiguration.clusterName === "string"
      ? clusterConfiguration.clusterName
      : undefined,
    nodes,
    apiServerEndpoints,
    certificatesDir,
    staticPodPath,
    serverTlsBootstrap,
    signingFlags,
    caBundleObjects: [...new Set(consumers.map((each) => each.object))].sort(),
    tokenSecrets: tokenSecrets.map(objectKey).sort(),
    staticPods: staticPodsMounting(
      mirrorPods,
      [...new Set(["/etc/kubernetes", certificatesDir ?? "/etc/kubernetes/pki"])],
    ),
  };
}

async function endpointsOf(
  cluster: ClusterApi,
  apiServerPods: readonly PodObject[],
): Promise<Sourced<string[]>> {
  const fromPods = [
    ...new Set(apiServerPods.map(mirrorPodEndpoint).filter((url) => url !== undefined)),
  ].sort();
  if (fromPods.length > 0) {
    return { value: fromPods, source: "the kube-apiserver mirror pods (advertise addresses)" };
  }
  const slices = await named(
    "list EndpointSlices default/kubernetes",
    () =>
      cluster.list<EndpointSlice>("discovery.k8s.io/v1", "EndpointSlice", {
        namespace: "default",
        labelSelector: "kubernetes.io/service-name=kubernetes",
      }),
  );
  const fromSlices = sliceEndpoints(slices);
  if (fromSlices.length > 0) {
    return {
      value: fromSlices,
      source: "the EndpointSlices of Service default/kubernetes (the API servers running now)",
    };
  }
  const endpoints = await named(
    "get Endpoints default/kubernetes",
    () =>
      cluster.read<Endpoints>({
        apiVersion: "v1",
        kind: "Endpoints",
        namespace: "default",
        name: "kubernetes",
      }),
  );
  return {
    value: endpointsUrls(endpoints),
    source: "Endpoints default/kubernetes (the API servers running now)",
  };
}
