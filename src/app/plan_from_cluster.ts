/**
 * Pure: the plan `init` writes — the shipped procedure (plans/kubeadm.yaml: its steps and its
 * comments, so the plan a user gets is the reviewed one) filled in from the facts of the cluster:
 * its name, node groups, API-server endpoints and load balancer, layout, the objects whose
 * `caBundle` holds the current CA, and the steps that what the cluster uses calls for
 * (`serverTLSBootstrap`, legacy token Secrets, per-signer controller-manager flags, static pods
 * that mount kubeconfigs or the PKI). Every part it fills in carries a comment starting
 * `init:` that says what was found and why it matters. Edited through the `yaml` library's
 * Document API, so every comment of the template stays where it was.
 * @module
 */
import {
  Document,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  type Scalar,
  YAMLMap,
  YAMLSeq,
} from "yaml";
import { join } from "node:path";
import type { ClusterFacts, NodeFact } from "./cluster_facts.ts";
import { CONTROL_PLANE_LABEL } from "./cluster_facts.ts";
import { signerPair, SIGNERS, SIGNING_PAIR } from "../steps/_controller_manager_signing.ts";
import { PRESET_LAYOUTS } from "../plan/layout.ts";

/**
 * Workers as a node group found from the cluster (`fromCluster`, by label selector), as the
 * shipped plan has them; false: every worker a listed host.
 */
export const WORKERS_FROM_CLUSTER = true;

/** The `staticPods` section (restart/accept) written out; false: written commented out. */
export const STATIC_PODS_SECTION = true;

/** How the plan reaches the nodes, and what it is called: the flags of `init`. */
export interface InitSettings {
  /** `metadata.name`: the progress ConfigMap is `kube-system/ca-rotator-<name>`. */
  readonly name: string;
  readonly driver: "ssh" | "local";
  /** ssh: the login user (absent: ssh's own default). */
  readonly user?: string;
  /** ssh: the identity file, as written in the plan. */
  readonly identityFile: string;
  /** ssh: a known_hosts file that pins the host keys. */
  readonly knownHostsFile?: string;
  /** ssh: run commands through sudo. */
  readonly sudo: boolean;
  /** local: the directory holding one root per node, `<dir>/<node name>`. */
  readonly nodeRoots?: string;
  /** The Node address ssh dials (`InternalIP`, `ExternalIP`, `Hostname`). */
  readonly addressType: string;
  /** Override of {@link WORKERS_FROM_CLUSTER} (tests). */
  readonly workersFromCluster?: boolean;
  /** Override of {@link STATIC_PODS_SECTION} (tests). */
  readonly staticPodsSection?: boolean;
}

/** The plan's text and, one line each, what init found and wrote (for stderr). */
export interface InitPlan {
  readonly text: string;
  readonly findings: readonly string[];
}

const DEFAULT_PKI = PRESET_LAYOUTS.kubeadm.pkiDir;
const DEFAULT_MANIFESTS = PRESET_LAYOUTS.kubeadm.manifestsDir;

/** At most `limit` items, then how many more. */
function listed(items: readonly string[], limit = 8): string {
  if (items.length === 0) return "none";
  return items.slice(0, limit).join(", ") +
    (items.length > limit ? `, … and ${items.length - limit} more` : "");
}

/** How wide a comment's text may be (the plan's lines stay within 100 columns). */
const COMMENT_WIDTH = 92;

/** `text` broken into lines of at most {@link COMMENT_WIDTH} characters, at spaces. */
function wrap(text: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > COMMENT_WIDTH) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return [...lines, line];
}

/**
 * A comment's text from paragraphs, each wrapped; each line gets the leading space `# ` renders
 * with. Lines that start with a space (YAML written as a comment) are kept as they are.
 */
function comment(...paragraphs: string[]): string {
  return paragraphs
    .flatMap((text) => (text.startsWith(" ") || text === "" ? [text] : wrap(text)))
    .map((line) => (line === "" ? "" : ` ${line}`)).join("\n");
}

/** `text` appended to a node's comment above it. */
function addCommentBefore(node: { commentBefore?: string | null }, text: string): void {
  node.commentBefore = node.commentBefore ? `${node.commentBefore}\n${text}` : text;
}

/** The address of a Node a plan dials: the wanted type, else its Hostname, else its name. */
export function nodeAddress(node: NodeFact, type: string): { address: string; note?: string } {
  const wanted = node.addresses.find((each) => each.type === type && each.address);
  if (wanted) return { address: wanted.address };
  const hostname = node.addresses.find((each) => each.type === "Hostname" && each.address);
  return {
    address: hostname?.address ?? node.name,
    note: `init: Node ${node.name} has no ${type} address: set the address ssh dials`,
  };
}

/** Sets `key` of `map` to `value` (a node), keeping the entry's place; the entry's key node. */
function setEntry(doc: Document, map: YAMLMap, key: string, value: unknown): Scalar {
  const existing = map.items.find((pair) =>
    (isScalar(pair.key) ? pair.key.value : pair.key) === key
  );
  if (existing) {
    if (!isScalar(existing.key)) existing.key = doc.createNode(key);
    const was = existing.value as { comment?: string | null } | null;
    const now = value as { comment?: string | null } | null;
    if (was?.comment && now && typeof now === "object" && !now.comment) now.comment = was.comment;
    existing.value = value;
    return existing.key as Scalar;
  }
  const pair = doc.createPair(key, value);
  map.items.push(pair);
  return pair.key as Scalar;
}

/**
 * `values` written into `map` key by key (nested plain objects into nested maps), so that the
 * comments of the template's entries stay; `drop` keys are removed. A key whose value is
 * `undefined` is removed too.
 */
function mergeInto(
  doc: Document,
  map: YAMLMap,
  values: Readonly<Record<string, unknown>>,
  drop: readonly string[] = [],
): void {
  for (const key of drop) map.delete(key);
  for (const [key, value] of Object.entries(values)) {
    const existing = map.get(key, true);
    if (value === undefined) {
      map.delete(key);
    } else if (
      isMap(existing) && value && typeof value === "object" && !Array.isArray(value) &&
      !isMap(value) && !isSeq(value)
    ) {
      mergeInto(doc, existing, value as Record<string, unknown>);
    } else {
      setEntry(doc, map, key, isMap(value) || isSeq(value) ? value : doc.createNode(value));
    }
  }
}

function stepsOf(doc: Document): YAMLSeq<YAMLMap> {
  const steps = doc.get("steps", true);
  if (!isSeq(steps)) throw new Error("the template has no steps list");
  return steps as YAMLSeq<YAMLMap>;
}

function stepIndex(doc: Document, id: string): number {
  const index = stepsOf(doc).items.findIndex((item) => isMap(item) && item.get("id") === id);
  if (index < 0) throw new Error(`the template has no step "${id}"`);
  return index;
}

function step(doc: Document, id: string): YAMLMap {
  return stepsOf(doc).items[stepIndex(doc, id)];
}

/**
 * Takes the step `id`, written commented out in the comment above one of the steps, out of that
 * comment, and puts it back as a step: the explanation before it goes with it, the comment after
 * it stays where it was.
 */
function uncommentStep(doc: Document, id: string): YAMLMap {
  const steps = stepsOf(doc);
  for (const [index, item] of steps.items.entries()) {
    const lines = (item.commentBefore ?? "").split("\n");
    const start = lines.indexOf(` - id: ${id}`);
    if (start < 0) continue;
    let end = start + 1;
    while (end < lines.length && lines[end].startsWith("   ")) end++;
    let explanationStart = start;
    while (explanationStart > 0 && lines[explanationStart - 1] !== "") explanationStart--;
    const parsed = parseDocument(lines.slice(start, end).map((line) => line.slice(1)).join("\n"));
    const node = (parsed.contents as YAMLSeq<YAMLMap>).items[0];
    const copy = doc.createNode(node.toJSON()) as YAMLMap;
    copy.commentBefore = lines.slice(explanationStart, start).join("\n");
    copy.spaceBefore = true;
    const rest = [...lines.slice(0, explanationStart), ...lines.slice(end)];
    while (rest.length > 0 && rest[0] === "") rest.shift();
    item.commentBefore = rest.join("\n") || undefined;
    item.spaceBefore = true;
    steps.items.splice(index, 0, copy);
    return copy;
  }
  throw new Error(`the template has no commented-out step "${id}"`);
}

/**
 * Moves the part of a collection's trailing comment that follows a blank line to the comment
 * above the next entry, where the template wrote it (the library attaches it to the collection
 * before, and would indent it as that collection's).
 */
function reattachTrailingComments(node: unknown): void {
  const entries: { value: unknown; before: () => { commentBefore?: string | null } }[] = [];
  if (isMap(node)) {
    for (const pair of node.items) {
      entries.push({ value: pair.value, before: () => pair.key as Scalar });
    }
  } else if (isSeq(node)) {
    for (const item of node.items) entries.push({ value: item, before: () => item as YAMLMap });
  } else {
    return;
  }
  for (const [index, entry] of entries.entries()) {
    reattachTrailingComments(entry.value);
    const value = entry.value as { comment?: string | null };
    const next = entries[index + 1];
    if (!next || !(isMap(value) || isSeq(value)) || !value.comment) continue;
    const split = value.comment.lastIndexOf("\n\n");
    if (split < 0) continue;
    const moved = value.comment.slice(split + 2);
    value.comment = value.comment.slice(0, split) || undefined;
    const target = next.before() as { commentBefore?: string | null; spaceBefore?: boolean };
    target.spaceBefore = true;
    target.commentBefore = target.commentBefore ? `${moved}\n${target.commentBefore}` : moved;
  }
}

/** The node groups of the plan, with their comments. */
function writeNodes(
  doc: Document,
  facts: ClusterFacts,
  settings: InitSettings,
  findings: string[],
): void {
  const controlPlane = facts.nodes.filter((node) => node.controlPlane);
  const workers = facts.nodes.filter((node) => !node.controlPlane);
  if (controlPlane.length === 0) {
    throw new Error(
      `no Node of the cluster is labelled ${CONTROL_PLANE_LABEL}: init writes plans for kubeadm ` +
        "clusters, whose control-plane nodes are Nodes (a managed control plane has no CA to rotate)",
    );
  }
  const nodes = doc.get("nodes", true) as YAMLMap;
  const hostsOf = (group: readonly NodeFact[]) =>
    group.map((node) => {
      const { address, note } = nodeAddress(node, settings.addressType);
      const host = doc.createNode(
        { name: node.name, address, ...(settings.user ? { user: settings.user } : {}) },
        { flow: true },
      ) as YAMLMap;
      if (note) host.comment = ` ${note}`;
      return host;
    });
  /** The template's group (its comments kept) when it is an ssh group, else a new one. */
  const templateGroup = (key: string): YAMLMap => {
    const existing = nodes.get(key, true);
    return isMap(existing) && existing.get("driver") === "ssh" ? existing : new YAMLMap();
  };
  const sshSettings = {
    driver: "ssh",
    identityFile: settings.identityFile,
    knownHostsFile: settings.knownHostsFile,
    sudo: settings.sudo,
  };
  const sshGroup = (key: string, group: readonly NodeFact[]) => {
    const map = templateGroup(key);
    const hosts = new YAMLSeq();
    hosts.items.push(...hostsOf(group));
    mergeInto(doc, map, { ...sshSettings, hosts }, ["fromCluster", "user", "port"]);
    return map;
  };
  const localGroup = (group: readonly NodeFact[], addresses: boolean) => {
    const roots = group.map((node) => join(settings.nodeRoots ?? "", node.name));
    const map = doc.createNode({ driver: "local", roots }) as YAMLMap;
    if (addresses) {
      setEntry(
        doc,
        map,
        "addresses",
        doc.createNode(group.map((node) => nodeAddress(node, settings.addressType).address)),
      );
    }
    return map;
  };
  const described = (group: readonly NodeFact[]) =>
    listed(
      group.map((node) => `${node.name} (${nodeAddress(node, settings.addressType).address})`),
    );

  const controlPlaneGroup = settings.driver === "ssh"
    ? sshGroup("controlPlane", controlPlane)
    : localGroup(controlPlane, true);
  addCommentBefore(
    setEntry(doc, nodes, "controlPlane", controlPlaneGroup),
    comment(
      `init: the ${controlPlane.length} Nodes labelled ${CONTROL_PLANE_LABEL}, by their ` +
        `${settings.addressType}: ${described(controlPlane)}.`,
      "Each gets the new CA in its PKI directory, new flags, kubeconfigs and kubelet trust.",
    ),
  );
  findings.push(`control plane: ${described(controlPlane)}`);

  const fromCluster = settings.driver === "ssh" &&
    (settings.workersFromCluster ?? WORKERS_FROM_CLUSTER);
  let workersGroup: YAMLMap;
  let workersNote: string;
  if (fromCluster) {
    workersGroup = templateGroup("workers");
    mergeInto(doc, workersGroup, {
      ...sshSettings,
      user: settings.user,
      fromCluster: { selector: `!${CONTROL_PLANE_LABEL}`, addressType: settings.addressType },
    }, ["hosts", "port"]);
    workersNote = `init: every Node not labelled ${CONTROL_PLANE_LABEL}, found from the cluster ` +
      `at each phase start, so a Node that joins or an autoscaler adds is rolled too ` +
      `(${workers.length} now: ${described(workers)}).`;
  } else {
    workersGroup = settings.driver === "ssh"
      ? sshGroup("workers", workers)
      : localGroup(workers, false);
    workersNote = `init: the ${workers.length} Nodes not labelled ${CONTROL_PLANE_LABEL}: ` +
      `${described(workers)}. A Node added later must be added here (or excluded below).`;
  }
  addCommentBefore(
    setEntry(doc, nodes, "workers", workersGroup),
    comment(
      workersNote,
      "Each kubelet trusts the bundle in trust and the new CA alone in finalize, one node at a " +
        "time.",
    ),
  );
  findings.push(`workers: ${described(workers)}${fromCluster ? " (found from the cluster)" : ""}`);
}

/** `apiServers`: the endpoints found and the kubeconfig's server. */
function writeApiServers(doc: Document, facts: ClusterFacts, findings: string[]): void {
  const apiServers = doc.get("apiServers", true) as YAMLMap;
  const endpoints = facts.apiServerEndpoints.value;
  const endpointsKey = endpoints.length > 0
    ? setEntry(doc, apiServers, "endpoints", doc.createNode([...endpoints]))
    : undefined;
  if (!endpointsKey) apiServers.delete("endpoints");
  const endpointsNote = endpoints.length > 0
    ? `init: from ${facts.apiServerEndpoints.source}.`
    : `init: no API-server endpoint found (${facts.apiServerEndpoints.source}): verify reads ` +
      "each node's kube-apiserver manifest.";
  if (endpointsKey) endpointsKey.commentBefore = comment(endpointsNote);
  const behindBalancer = !endpoints.includes(facts.server.replace(/\/+$/, ""));
  const balancerKey = behindBalancer
    ? setEntry(doc, apiServers, "loadBalancer", doc.createNode(facts.server))
    : undefined;
  if (!balancerKey) apiServers.delete("loadBalancer");
  if (balancerKey) {
    balancerKey.commentBefore = comment(
      `init: the server of the kubeconfig init ran with (context "${facts.context}").`,
    );
  } else {
    addCommentBefore(
      apiServers,
      comment(
        `init: the kubeconfig's server ${facts.server} is one of the endpoints: no load balancer.`,
      ),
    );
  }
  findings.push(
    `API servers: ${listed(endpoints)} (from ${facts.apiServerEndpoints.source})` +
      (behindBalancer ? `; load balancer ${facts.server}` : ""),
  );
}

/** `layout`: kubeadm's preset, and the directories the cluster configures otherwise. */
function writeLayout(doc: Document, facts: ClusterFacts, findings: string[]): void {
  const layout = doc.get("layout", true) as YAMLMap;
  const notes: string[] = [];
  if (facts.certificatesDir && facts.certificatesDir !== DEFAULT_PKI) {
    setEntry(doc, layout, "pkiDir", doc.createNode(facts.certificatesDir));
    notes.push(
      `init: pkiDir is certificatesDir of ConfigMap kube-system/kubeadm-config; the steps' flag ` +
        `values name it too.`,
    );
    for (const item of stepsOf(doc).items) {
      const flags = item.get("flags", true);
      if (!isMap(flags)) continue;
      for (const pair of flags.items) {
        const value = pair.value as Scalar;
        if (isScalar(value) && typeof value.value === "string") {
          value.value = value.value.replace(`${DEFAULT_PKI}/`, `${facts.certificatesDir}/`);
        }
      }
    }
  }
  const manifests = facts.staticPodPath?.replace(/\/+$/, "");
  if (manifests && manifests !== DEFAULT_MANIFESTS) {
    setEntry(doc, layout, "manifestsDir", doc.createNode(manifests));
    notes.push("init: manifestsDir is staticPodPath of ConfigMap kube-system/kubelet-config.");
  }
  if (notes.length === 0) {
    notes.push(
      "init: kubeadm's paths: ConfigMaps kube-system/kubeadm-config and kubelet-config set no " +
        "other certificatesDir or staticPodPath.",
    );
  }
  const first = layout.items[0]?.key as Scalar | undefined;
  if (first) addCommentBefore(first, comment(...notes));
  findings.push(
    `layout: kubeadm, PKI ${facts.certificatesDir ?? DEFAULT_PKI}, manifests ${
      manifests ?? DEFAULT_MANIFESTS
    }`,
  );
}

/** The caBundle steps list the objects whose caBundle holds the current CA. */
function writeCaBundles(doc: Document, facts: ClusterFacts, findings: string[]): void {
  const objects = facts.caBundleObjects;
  for (const id of ["ca-bundles-trust", "ca-bundles-new"]) {
    const item = step(doc, id);
    const seq = doc.createNode([...objects], { flow: objects.length <= 2 }) as YAMLSeq;
    setEntry(doc, item, "objects", seq);
    if (objects.length > 0) seq.comment = undefined; // the template's "e.g." goes with its []
    addCommentBefore(
      item,
      comment(
        objects.length > 0
          ? `init: the ${objects.length} objects whose caBundle holds the cluster CA now ` +
            `(kube-system/kube-root-ca.crt): ${listed(objects)}. Their servers must present ` +
            "certificates of the new CA before ca-bundles-new."
          : "init: no APIService or webhook configuration has a caBundle holding the cluster CA now.",
      ),
    );
  }
  findings.push(`caBundle holding the cluster CA: ${listed(objects)}`);
}

/** The kubelet-serving gate, on where the kubelets serve certificates of kubelet-serving CSRs. */
function writeServingGate(doc: Document, facts: ClusterFacts, findings: string[]): void {
  const { value: on, source } = facts.serverTlsBootstrap;
  if (on) {
    const gate = uncommentStep(doc, "kubelet-serving-gate");
    addCommentBefore(
      gate,
      comment(
        `init: on, because ${source}: the kubelets serve certificates the cluster CA signs, which`,
        "the finalize steps below stop trusting once they come from the old CA.",
      ),
    );
  } else {
    addCommentBefore(
      step(doc, "cluster-info-new"),
      comment(`init: kubelet-serving-gate left out: ${source}.`),
    );
  }
  findings.push(`serverTLSBootstrap: ${on ? "on" : "off"} (${source})`);
}

/** The token Secret waits and the pod-trust gates' `tokenSecrets`, where such Secrets exist. */
function writeTokenSecrets(doc: Document, facts: ClusterFacts, findings: string[]): void {
  const secrets = facts.tokenSecrets;
  if (secrets.length === 0) {
    addCommentBefore(
      step(doc, "roll-kube-system-trust"),
      comment(
        "init: the cluster has no legacy token Secret (kubernetes.io/service-account-token): " +
          "wait-token-secrets-bundle left out.",
      ),
    );
    findings.push("legacy token Secrets: none");
    return;
  }
  const found = `init: the cluster has ${secrets.length} legacy token Secrets: ${listed(secrets)}.`;
  const trust = uncommentStep(doc, "wait-token-secrets-bundle");
  addCommentBefore(trust, comment(found));
  const finalize = doc.createNode({
    id: "wait-token-secrets-new",
    phase: "finalize",
    kind: "wait-token-secrets",
    expect: "new",
  }) as YAMLMap;
  finalize.spaceBefore = true;
  finalize.commentBefore = comment(
    "The legacy token Secrets' ca.crt → the new CA alone, as kube-root-ca.crt above.",
    found,
  );
  stepsOf(doc).items.splice(stepIndex(doc, "wait-root-ca-new") + 1, 0, finalize);
  for (const id of ["pod-trust-gate", "pod-trust-final"]) {
    const gate = step(doc, id);
    setEntry(doc, gate, "tokenSecrets", doc.createNode(true)).commentBefore = comment(
      "init: pods that mount a legacy token Secret read its ca.crt once, at start: counted too.",
    );
  }
  findings.push(`legacy token Secrets: ${listed(secrets)}`);
}

/** Per-signer controller-manager flags: the signer step switches those of the rotated CA. */
function writeSigning(
  doc: Document,
  facts: ClusterFacts,
  findings: string[],
): void {
  const flags = facts.signingFlags.value;
  const signer = step(doc, "controller-manager-signer-new");
  const perSigner = SIGNERS.filter((name) => signerPair(name).cert in flags);
  if (perSigner.length === 0) {
    addCommentBefore(
      signer,
      comment(
        `init: the controller-manager signs with one pair for every signer (${facts.signingFlags.source}` +
          `${
            flags[SIGNING_PAIR.cert] ? `: ${SIGNING_PAIR.cert}=${flags[SIGNING_PAIR.cert]}` : ""
          }).`,
      ),
    );
    findings.push("controller-manager signing: one pair for every signer");
    return;
  }
  const pki = facts.certificatesDir ?? DEFAULT_PKI;
  const files = new Set(perSigner.map((name) => flags[signerPair(name).cert]));
  const rotated = perSigner.filter((name) => flags[signerPair(name).cert] === `${pki}/ca.crt`);
  const others = perSigner.filter((name) => !rotated.includes(name));
  const described = perSigner.map((name) => `${name}: ${flags[signerPair(name).cert]}`).join(", ");
  if (files.size > 1 && rotated.length > 0) {
    setEntry(
      doc,
      signer,
      "flags",
      doc.createNode(Object.fromEntries(rotated.flatMap((name) => [
        [signerPair(name).cert, `${pki}/ca.crt`],
        [signerPair(name).key, `${pki}/ca.key`],
      ]))),
    );
  }
  addCommentBefore(
    signer,
    comment(
      `init: the controller-manager signs per signer (${facts.signingFlags.source}): ${described}.`,
      files.size === 1
        ? "One CA for all: this step switches each per-signer pair to the files below."
        : rotated.length > 0
        ? `This step switches the signers of the cluster CA (${rotated.join(", ")}); ` +
          `${listed(others)} sign with other CAs and are left alone.`
        : `None signs with ${pki}/ca.crt: name the per-signer flags of the signers this plan ` +
          "rotates here (the step refuses to guess).",
    ),
  );
  findings.push(`controller-manager signing: per signer (${described})`);
}

/** The static pods besides the components that mount kubeconfigs or the PKI directory. */
function writeStaticPods(
  doc: Document,
  facts: ClusterFacts,
  settings: InitSettings,
  findings: string[],
): void {
  const pods = facts.staticPods;
  const names = pods.map((pod) => pod.name);
  const described = pods.map((pod) =>
    `${pod.name} on ${listed(pod.nodes, 3)} mounts ${pod.mounts.join(", ")}`
  );
  const why = pods.length > 0
    ? `init: static pods besides the control-plane components that mount kubeconfigs or the ` +
      `PKI directory (their mirror pods): ${described.join("; ")}. They read those files at ` +
      "start: restart each after the trust and switch phases change them, or accept it by name."
    : "init: no static pod besides the control-plane components mounts kubeconfigs or the PKI " +
      "directory (by the mirror pods in the API).";
  const top = doc.contents as YAMLMap;
  const casPair = top.items.find((pair) => (pair.key as Scalar).value === "cas")!;
  if (settings.staticPodsSection ?? STATIC_PODS_SECTION) {
    const section = new YAMLMap();
    setEntry(doc, section, "restart", doc.createNode([...names], { flow: true }));
    setEntry(doc, section, "accept", doc.createNode([], { flow: true }));
    const key = doc.createNode("staticPods") as Scalar;
    key.spaceBefore = true;
    // Where the template shows the section commented out, it goes there, with the template's
    // explanation and without its example; elsewhere before `cas`.
    let at = top.items.indexOf(casPair);
    let explanation: string[] = [];
    for (const [index, pair] of top.items.entries()) {
      const next = pair.key as Scalar;
      const lines = (next.commentBefore ?? "").split("\n");
      const start = lines.indexOf(" staticPods:");
      if (start < 0) continue;
      let end = start + 1;
      while (end < lines.length && lines[end].startsWith("   ")) end++;
      let from = start;
      while (from > 0 && lines[from - 1] !== "") from--;
      explanation = lines.slice(from, start);
      const rest = [...lines.slice(0, from), ...lines.slice(end)];
      while (rest.length > 0 && rest[0] === "") rest.shift();
      next.commentBefore = rest.join("\n") || undefined;
      at = index;
      break;
    }
    key.commentBefore = [...explanation, comment(why)].join("\n");
    top.items.splice(at, 0, doc.createPair(key, section));
  } else {
    addCommentBefore(
      casPair.key as Scalar,
      comment(
        why,
        "(staticPods is written commented out: this version of ca-rotator does not read it yet.)",
        "staticPods:",
        `  restart: [${names.join(", ")}]`,
        "  accept: []",
        "",
      ),
    );
  }
  findings.push(`static pods mounting kubeconfigs or the PKI: ${listed(described, 4)}`);
}

/**
 * The template's style for flow collections (deno fmt's): `{ a: b }` but `[a, b]`. The library
 * pads both alike; comments are left as they are.
 */
function flowStyle(text: string): string {
  return text.split("\n").map((line) => {
    const hash = line.search(/(^|\s)#/);
    const code = hash < 0 ? line : line.slice(0, hash);
    return code.replaceAll("[ ", "[").replaceAll(" ]", "]") + (hash < 0 ? "" : line.slice(hash));
  }).join("\n");
}

/**
 * The plan for the cluster of `facts`, from the template's text (plans/kubeadm.yaml).
 * @throws {Error} when the cluster has no control-plane Node, or the template lacks a step.
 */
export function planFromCluster(
  template: string,
  facts: ClusterFacts,
  settings: InitSettings,
): InitPlan {
  const doc = parseDocument(template);
  if (doc.errors.length > 0) throw new Error(`the template: ${doc.errors[0].message}`);
  reattachTrailingComments(doc.contents);
  const findings: string[] = [];
  const top = doc.contents as YAMLMap;
  const head = top.items[0].key as Scalar;
  const header = (head.commentBefore ?? "").split("\n");
  head.commentBefore = [
    header[0],
    comment(
      `Written by \`ca-rotator init\` from the cluster at ${facts.server} (context ` +
        `"${facts.context}"): plans/kubeadm.yaml, the reviewed procedure, filled in with what ` +
        "the cluster has. Every comment starting `init:` says what was found there and why it " +
        "matters: review them before the first run, and run `ca-rotator validate` and " +
        "`ca-rotator rotate --dry-run` on this file.",
      "",
    ),
    ...header.slice(1),
  ].join("\n").replaceAll("ca-rotator-kubeadm-ha", `ca-rotator-${settings.name}`);
  doc.setIn(["metadata", "name"], settings.name);
  writeLayout(doc, facts, findings);
  writeNodes(doc, facts, settings, findings);
  writeApiServers(doc, facts, findings);
  writeStaticPods(doc, facts, settings, findings);
  writeCaBundles(doc, facts, findings);
  writeTokenSecrets(doc, facts, findings);
  writeSigning(doc, facts, findings);
  writeServingGate(doc, facts, findings);
  return { text: flowStyle(doc.toString({ lineWidth: 0 })), findings };
}
