import assert from "node:assert/strict";
import { parse } from "yaml";
import { loadPlan, parsePlan } from "./plan.ts";
import { type InitSettings, nodeAddress, planFromCluster } from "./plan_from_cluster.ts";
import { BUSY_FACTS, PLAIN_FACTS } from "./_init_test_facts.ts";
import type { ClusterFacts } from "./cluster_facts.ts";

const template = await Deno.readTextFile("plans/kubeadm.yaml");
const shipped = await loadPlan("plans/kubeadm.yaml", {});

const SSH: InitSettings = {
  name: "prod",
  driver: "ssh",
  user: "ops",
  identityFile: "~/.ssh/ca-rotator",
  sudo: true,
  addressType: "InternalIP",
  // Listed workers and staticPods as a comment, as most tests below read them; init's default
  // (workers found from the cluster, staticPods written out) has its own test below.
  workersFromCluster: false,
  staticPodsSection: false,
};

function loaded(text: string) {
  return parsePlan(text, "prod.yaml", {});
}

/** The text with comment lines that continue a comment joined to it: phrases survive wrapping. */
function flat(text: string): string {
  return text.replace(/\n *# (?!init:)/g, " ");
}

/** The comment lines of a YAML text, trimmed. */
function commentLines(text: string): string[] {
  return text.split("\n").map((line) => line.trim()).filter((line) => line.startsWith("#"));
}

Deno.test("a plain cluster's plan is the shipped procedure: the same steps, every comment kept, and it validates", () => {
  const { text } = planFromCluster(template, PLAIN_FACTS, SSH);
  const plan = loaded(text);
  assert.deepEqual(plan.plan.steps, shipped.plan.steps);
  assert.deepEqual(plan.stepDigests, shipped.stepDigests, "every step digests as the shipped one");
  assert.deepEqual(plan.plan.cas, shipped.plan.cas);
  assert.deepEqual(plan.plan.workloads, shipped.plan.workloads);
  assert.deepEqual(plan.plan.layout, shipped.plan.layout);
  assert.equal(plan.plan.metadata.name, "prod");
  assert.equal(plan.plan.stopAfter, "trust");
  const kept = new Set(commentLines(text));
  const lost = commentLines(template)
    .filter((line) => !kept.has(line.replace("ca-rotator-kubeadm-ha", "ca-rotator-prod")));
  assert.deepEqual(lost, []);
  assert.match(text, /^# kube-system\/ca-rotator-prod, so an interrupted run/m);
});

Deno.test("the node groups are the cluster's Nodes: control plane by its label, workers the rest, by InternalIP", () => {
  const { nodes } = loaded(planFromCluster(template, PLAIN_FACTS, SSH).text).plan;
  assert.deepEqual(nodes.controlPlane, {
    driver: "ssh",
    identityFile: "~/.ssh/ca-rotator",
    sudo: true,
    hosts: [
      { name: "cp-1", address: "10.0.0.11", user: "ops" },
      { name: "cp-2", address: "10.0.0.12", user: "ops" },
      { name: "cp-3", address: "10.0.0.13", user: "ops" },
    ],
  });
  assert.deepEqual(nodes.workers, {
    driver: "ssh",
    identityFile: "~/.ssh/ca-rotator",
    sudo: true,
    hosts: [
      { name: "worker-1", address: "10.0.1.21", user: "ops" },
      { name: "worker-2", address: "10.0.1.22", user: "ops" },
    ],
  });
  // Without --user, ssh's own default: no user written.
  const noUser = loaded(planFromCluster(template, PLAIN_FACTS, { ...SSH, user: undefined }).text);
  const group = noUser.plan.nodes.controlPlane;
  assert.ok(group.driver === "ssh" && (group.hosts ?? []).every((host) => host.user === undefined));
});

Deno.test("the API-server endpoints and the kubeconfig's server as the load balancer, each with its source", () => {
  const { text } = planFromCluster(template, PLAIN_FACTS, SSH);
  assert.deepEqual(loaded(text).plan.apiServers, {
    endpoints: ["https://10.0.0.11:6443", "https://10.0.0.12:6443", "https://10.0.0.13:6443"],
    loadBalancer: "https://k8s.example.com:6443",
  });
  assert.match(text, /# init: from the kube-apiserver mirror pods \(advertise addresses\)\./);
  // A single API server the kubeconfig names directly: no load balancer.
  const single = planFromCluster(template, {
    ...PLAIN_FACTS,
    server: "https://10.0.0.11:6443",
    apiServerEndpoints: { value: ["https://10.0.0.11:6443"], source: "x" },
  }, SSH);
  assert.deepEqual(loaded(single.text).plan.apiServers, { endpoints: ["https://10.0.0.11:6443"] });
  assert.match(flat(single.text), /is one of the endpoints: no load balancer/);
  // None found: verify reads the manifests.
  const none = planFromCluster(template, {
    ...PLAIN_FACTS,
    apiServerEndpoints: { value: [], source: "Endpoints default/kubernetes" },
  }, SSH);
  assert.equal(loaded(none.text).plan.apiServers?.endpoints, undefined);
});

Deno.test("what the cluster uses turns on the steps for it, each with an init: comment, and the plan validates", () => {
  const { text, findings } = planFromCluster(template, BUSY_FACTS, SSH);
  const plan = loaded(text).plan;
  const byId = new Map(plan.steps.map((step) => [step.id, step]));
  // Legacy token Secrets: a wait in trust and in finalize, and the pod-trust gates count them.
  assert.deepEqual(
    plan.steps.filter((step) => step.kind === "wait-token-secrets")
      .map((step) => [step.id, step.phase, (step as { expect?: string }).expect]),
    [["wait-token-secrets-bundle", "trust", "bundle"], [
      "wait-token-secrets-new",
      "finalize",
      "new",
    ]],
  );
  const ids = plan.steps.map((step) => step.id);
  assert.equal(ids.indexOf("wait-token-secrets-bundle"), ids.indexOf("wait-root-ca-bundle") + 1);
  assert.equal(ids.indexOf("wait-token-secrets-new"), ids.indexOf("wait-root-ca-new") + 1);
  for (const id of ["pod-trust-gate", "pod-trust-final"]) {
    assert.equal((byId.get(id) as { tokenSecrets?: boolean }).tokenSecrets, true, id);
  }
  // serverTLSBootstrap: the kubelet-serving gate, first in finalize after the client gate.
  assert.equal(ids.indexOf("kubelet-serving-gate"), ids.indexOf("kubelet-rotation-gate") + 1);
  // The objects whose caBundle holds the CA, in both caBundle steps.
  for (const id of ["ca-bundles-trust", "ca-bundles-new"]) {
    assert.deepEqual((byId.get(id) as { objects?: string[] }).objects, [
      "APIService/v1beta1.metrics.k8s.io",
      "ValidatingWebhookConfiguration/policy",
    ]);
  }
  // Per-signer flags: the signers of the cluster CA switch; legacy-unknown (another CA) is left.
  assert.deepEqual((byId.get("controller-manager-signer-new") as { flags?: unknown }).flags, {
    "--cluster-signing-kubelet-serving-cert-file": "/etc/kubernetes/pki/ca.crt",
    "--cluster-signing-kubelet-serving-key-file": "/etc/kubernetes/pki/ca.key",
    "--cluster-signing-kubelet-client-cert-file": "/etc/kubernetes/pki/ca.crt",
    "--cluster-signing-kubelet-client-key-file": "/etc/kubernetes/pki/ca.key",
  });
  // Every other step is the shipped one.
  const added = ["wait-token-secrets-bundle", "wait-token-secrets-new", "kubelet-serving-gate"];
  const changed = [
    "pod-trust-gate",
    "pod-trust-final",
    "ca-bundles-trust",
    "ca-bundles-new",
    "controller-manager-signer-new",
  ];
  assert.deepEqual(
    plan.steps.filter((step) => !added.includes(step.id) && !changed.includes(step.id)),
    shipped.plan.steps.filter((step) => !changed.includes(step.id)),
  );
  // Each finding has its comment in the plan.
  for (
    const pattern of [
      /# init: the cluster has 2 legacy token Secrets: ci\/deployer-token, kube-system\/legacy-token\./,
      /# init: on, because ConfigMap kube-system\/kubelet-config sets serverTLSBootstrap: true/,
      /# init: the 2 objects whose caBundle holds the cluster CA now/,
      /# init: the controller-manager signs per signer/,
      /# init: static pods besides the control-plane components that mount kubeconfigs or the PKI/,
    ]
  ) assert.match(flat(text), pattern);
  assert.equal(findings.length, 9);
  // The static pods: commented out until the plan format reads the section.
  assert.match(text, /^# staticPods:\n# {3}restart: \[kube-vip\]\n# {3}accept: \[\]$/m);
  assert.equal(parse(text).staticPods, undefined);
});

Deno.test("a plain cluster gets the opposite: no token waits, no serving gate, each said in a comment (negative control)", () => {
  const { text } = planFromCluster(template, PLAIN_FACTS, SSH);
  const ids = loaded(text).plan.steps.map((step) => step.id);
  for (
    const id of ["wait-token-secrets-bundle", "wait-token-secrets-new", "kubelet-serving-gate"]
  ) {
    assert.ok(!ids.includes(id), id);
  }
  assert.match(flat(text), /# init: the cluster has no legacy token Secret/);
  assert.match(
    flat(text),
    /# init: kubelet-serving-gate left out: ConfigMap kube-system\/kubelet-config/,
  );
  assert.match(flat(text), /# init: no APIService or webhook configuration has a caBundle holding/);
  // The commented-out steps stay in the comments, for whoever needs them later.
  assert.match(text, /^ {2}# - id: wait-token-secrets-bundle$/m);
  assert.match(text, /^ {2}# - id: kubelet-serving-gate$/m);
});

Deno.test("init's default: workers found from the cluster, the staticPods section, and it validates", () => {
  const { text } = planFromCluster(template, BUSY_FACTS, {
    ...SSH,
    workersFromCluster: true,
    staticPodsSection: true,
  });
  const plan = parse(text);
  assert.deepEqual(plan.nodes.workers, {
    driver: "ssh",
    identityFile: "~/.ssh/ca-rotator",
    sudo: true,
    user: "ops",
    fromCluster: { selector: "!node-role.kubernetes.io/control-plane", addressType: "InternalIP" },
  });
  assert.deepEqual(plan.nodes.controlPlane.hosts[0], {
    name: "cp-1",
    address: "10.0.0.11",
    user: "ops",
  });
  assert.deepEqual(plan.staticPods, { restart: ["kube-vip"], accept: [] });
  assert.match(text, /^staticPods:\n {2}restart: \[kube-vip\]\n {2}accept: \[\]$/m);
  assert.match(flat(text), /found from the cluster at each phase start/);
  // As `validate` reads it: the plan format has both.
  const valid = loaded(text).plan;
  assert.deepEqual(valid.staticPods.restart, ["kube-vip"]);
  assert.equal(
    valid.nodes.workers?.driver === "ssh" && valid.nodes.workers.fromCluster?.selector,
    "!node-role.kubernetes.io/control-plane",
  );
});

Deno.test("the local driver: one root per node under --node-roots, control-plane addresses for probes", () => {
  const { text } = planFromCluster(template, PLAIN_FACTS, {
    ...SSH,
    driver: "local",
    nodeRoots: "/srv/nodes",
    workersFromCluster: true,
  });
  const { nodes } = loaded(text).plan;
  assert.deepEqual(nodes.controlPlane, {
    driver: "local",
    roots: ["/srv/nodes/cp-1", "/srv/nodes/cp-2", "/srv/nodes/cp-3"],
    addresses: ["10.0.0.11", "10.0.0.12", "10.0.0.13"],
  });
  assert.deepEqual(nodes.workers, {
    driver: "local",
    roots: ["/srv/nodes/worker-1", "/srv/nodes/worker-2"],
  });
});

Deno.test("another certificatesDir and staticPodPath: the layout and every step's flag values follow", () => {
  const facts: ClusterFacts = {
    ...PLAIN_FACTS,
    certificatesDir: "/etc/k8s/pki",
    staticPodPath: "/etc/k8s/manifests/",
  };
  const plan = loaded(planFromCluster(template, facts, SSH).text).plan;
  assert.equal(plan.layout.pkiDir, "/etc/k8s/pki");
  assert.equal(plan.layout.manifestsDir, "/etc/k8s/manifests");
  const values = plan.steps.flatMap((step) =>
    Object.values((step as { flags?: Record<string, string> }).flags ?? {})
  );
  assert.ok(values.length > 10);
  assert.deepEqual(values.filter((value) => !value.startsWith("/etc/k8s/pki/")), []);
});

Deno.test("a cluster without control-plane Nodes is refused, naming the label", () => {
  assert.throws(
    () =>
      planFromCluster(template, {
        ...PLAIN_FACTS,
        nodes: PLAIN_FACTS.nodes.filter((node) => !node.controlPlane),
      }, SSH),
    /no Node of the cluster is labelled node-role\.kubernetes\.io\/control-plane/,
  );
});

Deno.test("a Node without the address type: its Hostname, and a comment to set it", () => {
  const node = {
    name: "w",
    controlPlane: false,
    addresses: [{ type: "Hostname", address: "w.lan" }],
  };
  assert.deepEqual(nodeAddress(node, "InternalIP"), {
    address: "w.lan",
    note: "init: Node w has no InternalIP address: set the address ssh dials",
  });
  const { text } = planFromCluster(template, {
    ...PLAIN_FACTS,
    nodes: [...PLAIN_FACTS.nodes, node],
  }, SSH);
  assert.match(
    text,
    /- \{ name: w, address: w\.lan, user: ops \} # init: Node w has no InternalIP/,
  );
});

Deno.test("the plan's lines stay within 100 columns but for the template's own", () => {
  const long = (text: string) => text.split("\n").filter((line) => line.length > 100);
  const templateLong = new Set(long(template));
  for (const facts of [PLAIN_FACTS, BUSY_FACTS]) {
    const { text } = planFromCluster(template, facts, SSH);
    assert.deepEqual(long(text).filter((line) => !templateLong.has(line)), []);
  }
});
