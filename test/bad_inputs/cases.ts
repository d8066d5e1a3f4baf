/**
 * The bad-input corpus: each case is one thing an operator can get wrong, the `rotate` run it
 * makes (a plan edited from plans/local-demo.yaml, flags, environment), the exit code the
 * README's table gives it — 2 for bad input, 1 for the environment — and what its error must
 * name (the file, line and field, the node, or the server). Two cases run `status` and
 * `verify-kubelets`, which make the same first contact with the API server.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";

/** One bad input. */
export interface BadInputCase {
  readonly name: string;
  /** The command (default `rotate`). */
  readonly command?: "rotate" | "status" | "verify-kubelets";
  /** The plan file's text, from the local-demo plan's (default: unchanged). */
  readonly plan?: (demo: string) => string;
  /** More `rotate` arguments (after `--plan plans/demo.yaml`). */
  readonly args?: readonly string[];
  /** Environment over the cluster's (KUBECONFIG, NODE_ROOTS, WORKER_ROOTS …). */
  readonly env?: Readonly<Record<string, string>>;
  /** Run with `-o json`: the error must come as one Error document. */
  readonly json?: boolean;
  readonly exitCode: 1 | 2;
  /** What the error says. */
  readonly message: RegExp;
  /** At most this long (ms) beyond the control dry run's time: an error that must not wait out a retry. */
  readonly maxMs?: number;
}

/** Where the corpus's prepared inputs are. */
export interface CorpusInputs {
  /** The CA fixtures of ca_fixtures.ts. */
  readonly caDir: string;
  /** Kubeconfigs: `unreachable` (a closed loopback port), `otherCa`, `empty`, `notYaml`. */
  readonly kubeconfigs: Readonly<Record<"unreachable" | "otherCa" | "empty" | "notYaml", string>>;
  /** The cluster's admin kubeconfig (for --context cases). */
  readonly admin: string;
  /** A directory that is not a node root, and a path that does not exist. */
  readonly notANode: string;
  readonly nowhere: string;
  /** A copy of the worker's root under a name the cluster has no Node for. */
  readonly strangerWorker: string;
  /** A copy of the worker's root (same name) without `etc/kubernetes/pki/ca.crt`. */
  readonly workerWithoutCa: string;
  /** The cluster's real roots. */
  readonly nodeRoots: string;
}

/** `text` with `from` replaced by `to`; throws when `from` is not in it (a stale case). */
export function edit(from: string | RegExp, to: string): (text: string) => string {
  return (text) => {
    const edited = text.replace(from, to);
    if (edited === text) throw new Error(`the demo plan has no ${from}: update the case`);
    return edited;
  };
}

const PLAN = String.raw`"[^"]*plans/demo\.yaml"`;
const planError = (line: string, field: string, why: string) =>
  new RegExp(`Cannot load plan ${PLAN}: line ${line}, ${field}: ${why}`);

/** The plan edit that gives the cluster's new CA as the files `cert` and `key` of `caDir`. */
function givenCaIn(caDir: string): (cert: string, key: string) => (text: string) => string {
  return (cert, key) =>
    edit(
      "cluster: { source: generate, algorithm: ecdsa-p256, commonName: kubernetes }",
      `cluster: { source: files, cert: "${join(caDir, cert)}", key: "${join(caDir, key)}" }`,
    );
}

/**
 * The control: the same set-up with good input — the good CA files, the cluster's roots and
 * kubeconfig — plans a dry run with exit 0, so each case fails for its one bad input alone.
 */
export function controlCase(inputs: CorpusInputs): Omit<BadInputCase, "exitCode" | "message"> {
  return {
    name: "control: good CA files, dry run",
    plan: givenCaIn(inputs.caDir)("ca.crt", "ca.key"),
    args: ["--dry-run"],
    json: true,
  };
}

/**
 * The negative control of the "changes nothing" check: the control's plan cut to its first step
 * (distribute-cluster-ca) and applied, which must show up as changed node files and objects.
 */
export function appliedControlCase(
  inputs: CorpusInputs,
): Omit<BadInputCase, "exitCode" | "message"> {
  const withGivenCa = givenCaIn(inputs.caDir)("ca.crt", "ca.key");
  return {
    name: "control: good CA files, the first step applied",
    plan: (text) => {
      const planned = withGivenCa(text);
      const second = planned.indexOf("\n  - id: distribute-front-proxy-ca\n");
      assert.ok(second > 0, "the demo plan's second step is distribute-front-proxy-ca");
      return planned.slice(0, second) + "\n";
    },
    json: true,
  };
}

/** The corpus. */
export function badInputCases(inputs: CorpusInputs): BadInputCase[] {
  const givenCa = givenCaIn(inputs.caDir);
  const caError = (file: "cert" | "key", name: string, why: string) =>
    new RegExp(`Cannot use cas\\.cluster\\.${file} "[^"]*/${name.replaceAll(".", "\\.")}": ${why}`);
  return [
    // ── the plan file: YAML ──
    {
      name: "plan: YAML syntax error (unclosed flow mapping)",
      plan: edit("metadata:\n  name: local-demo", "metadata: { name: local-demo"),
      exitCode: 2,
      message: new RegExp(`Cannot load plan ${PLAN}: .*line \\d+`),
    },
    {
      name: "plan: an unquoted ${VAR} in a flow mapping",
      plan: edit(
        "cluster: { source: generate, algorithm: ecdsa-p256, commonName: kubernetes }",
        "cluster: { source: generate, algorithm: ecdsa-p256, commonName: ${CA_CN} }",
      ),
      json: true,
      exitCode: 2,
      message: new RegExp(
        `Cannot load plan ${PLAN}: line \\d+, column \\d+, cas\\.cluster\\.commonName: YAML syntax ` +
          'error: .*; quote the variable: "\\$\\{CA_CN\\}"',
      ),
    },
    {
      name: "plan: tab indentation",
      plan: edit("\n  name: local-demo", "\n\tname: local-demo"),
      exitCode: 2,
      message: new RegExp(`Cannot load plan ${PLAN}: .*line \\d+`),
    },
    {
      name: "plan: empty file",
      plan: () => "",
      json: true,
      exitCode: 2,
      message: new RegExp(`Cannot load plan ${PLAN}`),
    },
    {
      name: "plan: a list, not a mapping",
      plan: () => "- apiVersion: ca-rotator.dev/v1\n",
      exitCode: 2,
      message: new RegExp(`Cannot load plan ${PLAN}`),
    },
    {
      name: "plan: missing file",
      args: ["--plan", "plans/absent.yaml"],
      exitCode: 2,
      message: /plans\/absent\.yaml/,
    },
    // ── the plan file: schema ──
    {
      name: "plan: wrong apiVersion",
      plan: edit("apiVersion: ca-rotator.dev/v1", "apiVersion: ca-rotator.dev/v2"),
      exitCode: 2,
      message: planError(
        "12",
        "apiVersion",
        'expected "ca-rotator.dev/v1", got "ca-rotator.dev/v2"',
      ),
    },
    {
      name: "plan: unknown kind",
      plan: edit("kind: RotationPlan", "kind: Plan"),
      json: true,
      exitCode: 2,
      message: planError("13", "kind", 'expected "RotationPlan", got "Plan"'),
    },
    {
      name: "plan: unknown top-level field",
      plan: edit("stopAfter: trust", "stopAfter: trust\nstopBefore: switch"),
      exitCode: 2,
      message: planError("17", "stopBefore", ".*"),
    },
    {
      name: "plan: unknown field in a step",
      plan: edit(
        "    kind: distribute-ca\n    ca: cluster",
        "    kind: distribute-ca\n    ca: cluster\n    force: true",
      ),
      exitCode: 2,
      message: planError("\\d+", "steps\\[0\\]\\.force", ".*"),
    },
    {
      name: "plan: kubelet-serving-gate forcing rotations without approving their CSRs",
      plan: edit(
        "  - id: kubeconfigs-trust-new\n",
        "  - id: kubelet-serving-gate\n    phase: finalize\n    kind: kubelet-serving-gate\n" +
          "    forceRotation: true\n\n  - id: kubeconfigs-trust-new\n",
      ),
      exitCode: 2,
      message: planError(
        "\\d+",
        "steps\\[\\d+\\]\\.forceRotation",
        "a forced rotation's CSR must be approved: set approveServingCsrs: true",
      ),
    },
    {
      name: "plan: a static pod both restarted and accepted",
      plan: edit(
        /^steps:$/m,
        "staticPods:\n  restart: [kube-vip]\n  accept:\n" +
          '    - { name: kube-vip, reason: "reads admin.conf once" }\nsteps:',
      ),
      exitCode: 2,
      message: planError(
        "\\d+",
        "staticPods\\.accept\\[0\\]\\.name",
        '"kube-vip" is already listed in staticPods\\.restart\\[0\\]',
      ),
    },
    {
      name: "plan: unknown phase in stopAfter",
      plan: edit("stopAfter: trust", "stopAfter: rollout"),
      exitCode: 2,
      message: planError("16", "stopAfter", 'unknown phase "rollout"'),
    },
    {
      name: "plan: wrong type (batchSize a string)",
      plan: edit("  batchSize: 4", "  batchSize: four"),
      json: true,
      exitCode: 2,
      message: planError("47", "workloads\\.batchSize", 'expected a number, got "four"'),
    },
    {
      name: "plan: wrong type (steps a mapping)",
      plan: edit(/\nsteps:\n[\s\S]*$/, "\nsteps: { distribute: cluster }\n"),
      exitCode: 2,
      message: planError("\\d+", "steps", ".*"),
    },
    {
      name: "plan: metadata.name not a DNS label",
      plan: edit("  name: local-demo", "  name: Local Demo"),
      exitCode: 2,
      message: planError("15", "metadata\\.name", "must be a DNS label"),
    },
    {
      name: "plan: unknown step kind",
      plan: edit("kind: distribute-ca", "kind: restart-everything"),
      exitCode: 2,
      message: planError("\\d+", "steps\\[0\\]\\.kind", 'unknown step kind "restart-everything"'),
    },
    {
      name: "plan: missing required step field (ca)",
      plan: edit("    kind: distribute-ca\n    ca: cluster\n", "    kind: distribute-ca\n"),
      exitCode: 2,
      message: planError("\\d+", "steps\\[0\\]\\.ca", "is missing"),
    },
    {
      name: "plan: a step in a phase it does not belong to",
      plan: edit("phase: trust\n    kind: distribute-ca", "phase: switch\n    kind: distribute-ca"),
      exitCode: 2,
      message: planError(
        "\\d+",
        "steps\\[0\\]\\.phase",
        "a distribute-ca step belongs in phase trust",
      ),
    },
    {
      name: "plan: phase order (a trust step after a switch step)",
      plan: edit(
        "  - id: verify-trust\n    phase: trust\n",
        "  - id: pod-trust-early\n    phase: switch\n    kind: verify-pod-trust\n\n" +
          "  - id: verify-trust\n    phase: trust\n",
      ),
      json: true,
      exitCode: 2,
      message: planError("\\d+", "steps\\[\\d+\\]\\.phase", "a trust step after a switch step"),
    },
    {
      name: "plan: duplicate step id",
      plan: edit("  - id: distribute-front-proxy-ca", "  - id: distribute-cluster-ca"),
      exitCode: 2,
      message: planError("\\d+", "steps\\[1\\]\\.id", 'duplicate step id "distribute-cluster-ca"'),
    },
    {
      name: "plan: a step names a CA the plan does not declare",
      plan: edit(/\n {2}frontProxy: \{[^\n]*\}/, ""),
      exitCode: 2,
      message: planError("\\d+", "steps\\[1\\]\\.ca", ".*frontProxy"),
    },
    {
      name: "plan: unknown CA name",
      plan: edit("    ca: cluster", "    ca: vault"),
      exitCode: 2,
      message: planError("\\d+", "steps\\[0\\]\\.ca", 'unknown CA "vault"'),
    },
    {
      name: "plan: a step's CA not declared in cas",
      plan: edit("    ca: cluster", "    ca: etcd"),
      exitCode: 2,
      message: planError(
        "\\d+",
        "steps\\[0\\]\\.ca",
        'CA "etcd" is not declared in cas \\(declared: cluster, frontProxy\\)',
      ),
    },
    {
      name: "plan: unknown component",
      plan: edit("    component: kube-controller-manager", "    component: kube-proxy"),
      exitCode: 2,
      message: planError("\\d+", "steps\\[4\\]\\.component", 'unknown component "kube-proxy"'),
    },
    {
      name: "plan: bad duration",
      plan: edit("    wait: 3m", "    wait: 3 minutes"),
      exitCode: 2,
      message: planError("\\d+", "steps\\[\\d+\\]\\.wait", 'invalid duration "3 minutes"'),
    },
    {
      name: "plan: unknown layout preset",
      plan: edit(/preset: kubeadm.*/, "preset: kops"),
      exitCode: 2,
      message: planError("19", "layout\\.preset", 'expected "kubeadm", got "kops"'),
    },
    {
      name: "plan: unknown node driver",
      plan: edit("driver: local", "driver: winrm"),
      exitCode: 2,
      message: planError("28", "nodes\\.controlPlane\\.driver", 'unknown node driver "winrm"'),
    },
    {
      name: "plan: unknown CA source",
      plan: edit(
        "cluster: { source: generate, algorithm: ecdsa-p256, commonName: kubernetes }",
        "cluster: { source: vault }",
      ),
      exitCode: 2,
      message: planError("41", "cas\\.cluster\\.source", 'unknown CA source "vault"'),
    },
    {
      name: "plan: reference to an unset environment variable",
      plan: edit('"${NODE_ROOTS}"', '"${NODE_ROOTZ}"'),
      json: true,
      exitCode: 2,
      message: planError(
        "29",
        "nodes\\.controlPlane\\.roots",
        "environment variable NODE_ROOTZ is not set",
      ),
    },
    {
      name: "plan: malformed environment reference",
      plan: edit('"${NODE_ROOTS}"', '"${NODE_ROOTS"'),
      exitCode: 2,
      message: planError(
        "29",
        "nodes\\.controlPlane\\.roots",
        'malformed reference "\\$\\{NODE_ROOTS"',
      ),
    },
    // ── a given new CA ──
    {
      name: "new CA: a leaf, not a CA",
      plan: givenCa("leaf.crt", "leaf.key"),
      json: true,
      exitCode: 2,
      message: caError("cert", "leaf.crt", 'certificate "CN=leaf" is not a CA'),
    },
    {
      name: "new CA: expired",
      plan: givenCa("expired.crt", "expired.key"),
      exitCode: 2,
      message: caError("cert", "expired.crt", 'certificate "CN=expired" expired on '),
    },
    {
      name: "new CA: not yet valid",
      plan: givenCa("future.crt", "future.key"),
      exitCode: 2,
      message: caError("cert", "future.crt", 'certificate "CN=future" is not valid before '),
    },
    {
      name: "new CA: key does not match",
      plan: givenCa("ca.crt", "other.key"),
      json: true,
      exitCode: 2,
      message: caError("key", "other.key", 'the key does not match certificate "CN=ca"'),
    },
    {
      name: "new CA: encrypted PKCS#8 key",
      plan: givenCa("ca.crt", "ca.pkcs8-encrypted.key"),
      exitCode: 2,
      message: caError("key", "ca.pkcs8-encrypted.key", "the private key is encrypted"),
    },
    {
      name: "new CA: encrypted traditional (Proc-Type) key",
      plan: givenCa("ca.crt", "ca.legacy-encrypted.key"),
      exitCode: 2,
      message: caError("key", "ca.legacy-encrypted.key", "the private key is encrypted"),
    },
    {
      name: "new CA: truncated certificate PEM",
      plan: givenCa("ca.truncated.crt", "ca.key"),
      exitCode: 2,
      message: caError("cert", "ca.truncated.crt", "is cut short"),
    },
    {
      name: "new CA: truncated key PEM",
      plan: givenCa("ca.crt", "ca.truncated.key"),
      exitCode: 2,
      message: caError("key", "ca.truncated.key", "is cut short"),
    },
    {
      name: "new CA: RSA key under 2048 bits",
      plan: givenCa("rsa1024.crt", "rsa1024.key"),
      json: true,
      exitCode: 2,
      message: caError(
        "key",
        "rsa1024.key",
        "the RSA key has 1024 bits; a CA key needs at least 2048",
      ),
    },
    {
      name: "new CA: a certificate file with a certificate outside the CA's chain",
      plan: givenCa("stranger.crt", "ca.key"),
      exitCode: 2,
      message: caError(
        "cert",
        "stranger.crt",
        'holds a certificate outside the chain of "CN=ca": "CN=other"',
      ),
    },
    {
      name: "new CA: a chain whose CA the key does not belong to",
      plan: givenCa("chain.crt", "ca.key"),
      json: true,
      exitCode: 2,
      message: caError(
        "key",
        "ca.key",
        'the key does not match certificate "CN=intermediate" \\(serial [0-9a-f]+\\) or "CN=root"',
      ),
    },
    {
      name: "new CA: keyUsage without keyCertSign",
      plan: givenCa("nosign.crt", "nosign.key"),
      exitCode: 2,
      message: caError(
        "cert",
        "nosign.crt",
        'certificate "CN=nosign" has a keyUsage without keyCertSign',
      ),
    },
    {
      name: "new CA: no subjectKeyIdentifier",
      plan: givenCa("noski.crt", "noski.key"),
      exitCode: 2,
      message: caError("cert", "noski.crt", 'certificate "CN=noski" has no subjectKeyIdentifier'),
    },
    {
      name: "new CA: expires before the leaves the plan issues with it",
      plan: givenCa("short.crt", "short.key"),
      json: true,
      exitCode: 2,
      message: caError(
        "cert",
        "short.crt",
        'certificate "CN=short" expires on [^,]+, in (99|100) days: sooner than the 365-day',
      ),
    },
    {
      name: "new CA: the certificate file holds a key",
      plan: givenCa("ca.key", "ca.key"),
      exitCode: 2,
      message: caError("cert", "ca.key", "holds a private key, not a certificate"),
    },
    {
      name: "new CA: the key file holds a certificate",
      plan: givenCa("ca.crt", "ca.crt"),
      exitCode: 2,
      message: caError("key", "ca.crt", "holds a certificate, not a private key"),
    },
    {
      name: "new CA: empty certificate file",
      plan: givenCa("empty", "ca.key"),
      exitCode: 2,
      message: caError("cert", "empty", "is empty"),
    },
    {
      name: "new CA: empty key file",
      plan: givenCa("ca.crt", "empty"),
      exitCode: 2,
      message: caError("key", "empty", "is empty"),
    },
    {
      name: "new CA: missing certificate file",
      plan: givenCa("absent.crt", "ca.key"),
      exitCode: 2,
      message: planError("41", "cas\\.cluster\\.cert", "file not found: .*/absent\\.crt"),
    },
    // ── nodes that are not the cluster's ──
    {
      name: "nodes: a control-plane root that is not a node",
      env: { NODE_ROOTS: inputs.notANode },
      json: true,
      exitCode: 2,
      message:
        /node "not-a-node" \(nodes\.controlPlane, root [^)]*\): .*\/etc\/kubernetes\/pki\/ca\.crt.* missing/,
    },
    {
      name: "nodes: a control-plane root that does not exist",
      env: { NODE_ROOTS: inputs.nowhere },
      exitCode: 2,
      message: /node "nowhere" \(nodes\.controlPlane, root [^)]*\/nowhere\): no such directory/,
    },
    {
      name: "nodes: a worker the cluster has no Node for",
      env: { WORKER_ROOTS: inputs.strangerWorker },
      exitCode: 2,
      message:
        /node "stranger" \(nodes\.workers, [^)]*\): the cluster has no Node named "stranger" \(it has: /,
    },
    {
      name: "nodes: a worker without pki/ca.crt",
      env: { WORKER_ROOTS: inputs.workerWithoutCa },
      exitCode: 2,
      message:
        /node "worker-1" \(nodes\.workers, [^)]*\): \/etc\/kubernetes\/pki\/ca\.crt is missing/,
    },
    {
      name: "nodes: a worker of the cluster left out of the plan",
      env: { WORKER_ROOTS: "" },
      json: true,
      exitCode: 2,
      message:
        /does not cover every Node \(nothing was changed\): the cluster has a Node the plan does not cover: worker-1 — add it to nodes\.workers/,
    },
    {
      name: "nodes: the control-plane roots given as workers",
      plan: edit('roots: "${WORKER_ROOTS:-}"', 'roots: "${NODE_ROOTS}"'),
      exitCode: 2,
      message: planError(
        "36",
        "nodes\\.workers\\.roots\\[0\\]",
        'duplicate node name "control-plane-1" \\(already in nodes\\.controlPlane\\)',
      ),
    },
    {
      name: "nodes: an ssh group with both hosts and fromCluster",
      plan: edit(
        '    driver: local\n    roots: "${WORKER_ROOTS:-}"',
        "    driver: ssh\n    hosts: [{ name: worker-1, address: 198.18.0.21 }]\n" +
          '    fromCluster: { selector: "!node-role.kubernetes.io/control-plane" }',
      ),
      exitCode: 2,
      message: planError(
        "37",
        "nodes\\.workers\\.fromCluster",
        "give either hosts or fromCluster, not both",
      ),
    },
    {
      name: "nodes: an exclusion's label selector that does not parse",
      plan: edit(
        'roots: "${WORKER_ROOTS:-}"',
        'roots: "${WORKER_ROOTS:-}"\n  exclude:\n    - { selector: "pool in spot", reason: r }',
      ),
      exitCode: 2,
      message: planError(
        "38",
        "nodes\\.exclude\\[0\\]\\.selector",
        'not a label selector: expected "\\(" after "pool in", found "spot"',
      ),
    },
    // ── the cluster connection ──
    {
      name: "server: unreachable (closed port)",
      env: { KUBECONFIG: inputs.kubeconfigs.unreachable },
      json: true,
      exitCode: 1,
      message:
        /Cannot reach the API server https:\/\/127\.0\.0\.1:\d+ \(kubeconfig "[^"]*unreachable\.conf".*ECONNREFUSED/,
    },
    {
      name: "server: unreachable, for status",
      command: "status",
      env: { KUBECONFIG: inputs.kubeconfigs.unreachable },
      exitCode: 1,
      maxMs: 15_000,
      message: /Cannot reach the API server https:\/\/127\.0\.0\.1:\d+ .*ECONNREFUSED/,
    },
    {
      name: "server: unreachable, for verify-kubelets",
      command: "verify-kubelets",
      env: { KUBECONFIG: inputs.kubeconfigs.unreachable },
      json: true,
      exitCode: 1,
      maxMs: 15_000,
      message: /Cannot reach the API server https:\/\/127\.0\.0\.1:\d+ .*ECONNREFUSED/,
    },
    {
      name: "server: kubeconfig trusts another CA (TLS verification fails)",
      env: { KUBECONFIG: inputs.kubeconfigs.otherCa },
      json: true,
      exitCode: 2,
      message:
        /The API server https:\/\/198\.18\.\d+\.100:6443 is not trusted by kubeconfig "[^"]*other-ca\.conf"/,
    },
    {
      name: "kubeconfig: --kubeconfig names a missing file",
      args: ["--kubeconfig", "absent.conf"],
      exitCode: 2,
      message: /kubeconfig "[^"]*absent\.conf": file not found/,
    },
    {
      name: "kubeconfig: empty",
      env: { KUBECONFIG: inputs.kubeconfigs.empty },
      exitCode: 2,
      message: /kubeconfig "[^"]*empty\.conf"/,
    },
    {
      name: "kubeconfig: not YAML",
      args: ["--kubeconfig", inputs.kubeconfigs.notYaml],
      json: true,
      exitCode: 2,
      message: /kubeconfig "[^"]*not-yaml\.conf"/,
    },
    {
      name: "kubeconfig: unknown context",
      args: ["--kubeconfig", inputs.admin, "--context", "staging"],
      exitCode: 2,
      message: /staging/,
    },
    {
      name: "kubeconfig: a KUBECONFIG list skips its missing entries (the next one is used)",
      env: { KUBECONFIG: `/nonexistent/config:${inputs.kubeconfigs.otherCa}` },
      exitCode: 2,
      message: /is not trusted by kubeconfig "[^"]*other-ca\.conf"/,
    },
    {
      name: "kubeconfig: none at all (no fallback to localhost:8080)",
      env: { KUBECONFIG: "/nonexistent/a:/nonexistent/b" },
      exitCode: 2,
      message: /KUBECONFIG names "\/nonexistent\/a", "\/nonexistent\/b", and none of them exists/,
    },
  ];
}
