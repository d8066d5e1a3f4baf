/**
 * The plan that rotates all four credentials of a kubeadm cluster in one rotation, on the local
 * control plane: plans/local-demo.yaml (the cluster CA and the front-proxy CA), the etcd CA's
 * steps of plans/local-etcd-ca.yaml and the service-account key's steps of plans/kubeadm.yaml's
 * commented block, merged as that block's comments say: each component restarts as few times
 * as the order allows (the API servers' trust restart takes the service-account bundle and the
 * etcd bundle too; the finalize restart returns every flag to kubeadm's paths).
 * @module
 */
import { join } from "node:path";
import { isMap, isSeq, parse, parseDocument, type YAMLMap, type YAMLSeq } from "yaml";

const repo = new URL("../../", import.meta.url).pathname;
const PKI = "/etc/kubernetes/pki";

/** The service-account key's steps, by the step they follow. */
const SA_STEPS_AFTER: Record<string, unknown[]> = {
  "distribute-etcd-ca": [{
    id: "distribute-sa-key",
    phase: "trust",
    kind: "distribute-sa-key",
    algorithm: "rsa-2048",
  }],
  "apiserver-trust-bundle": [{
    id: "sa-jwks-bundle",
    phase: "trust",
    kind: "verify-sa-jwks",
    expect: "bundle",
  }],
  "reissue-cluster-leaves": [{
    id: "apiserver-sa-signing-new",
    phase: "switch",
    kind: "set-component-flags",
    component: "kube-apiserver",
    flags: { "--service-account-signing-key-file": `${PKI}/sa-new.key` },
    healthTimeoutSeconds: 90,
  }],
  "kubelet-rotation-gate": [
    {
      id: "sa-token-gate",
      phase: "finalize",
      kind: "verify-sa-tokens",
      signingSwitchedBy: "apiserver-sa-signing-new",
      reissueTokenSecrets: ["team-a"],
    },
    { id: "activate-sa-key", phase: "finalize", kind: "activate-sa-key" },
  ],
  "apiserver-trust-new": [{
    id: "sa-jwks-new",
    phase: "finalize",
    kind: "verify-sa-jwks",
    expect: "new",
  }],
  "remove-old-front-proxy-ca": [{
    id: "remove-old-sa-key",
    phase: "finalize",
    kind: "remove-old-sa-key",
  }],
};

/** The etcd CA's steps (plans/local-etcd-ca.yaml's ids), by the step they follow or precede. */
const ETCD_STEPS = {
  first: ["etcd-snapshot"],
  after: {
    "distribute-front-proxy-ca": ["distribute-etcd-ca"],
    "activate-front-proxy-ca": ["activate-etcd-ca", "reissue-etcd-leaves"],
    "remove-old-front-proxy-ca": ["remove-old-etcd-ca"],
  } as Record<string, string[]>,
  before: {
    "apiserver-trust-bundle": ["etcd-trust-bundle"],
    "verify-trust": ["etcd-trust-gate"],
    "apiserver-trust-new": ["etcd-trust-new"],
  } as Record<string, string[]>,
};

/** Flags added to local-demo.yaml's steps: one restart per component and phase. */
const MERGED_FLAGS: Record<string, Record<string, string>> = {
  "apiserver-trust-bundle": {
    "--service-account-key-file": `${PKI}/sa-bundle.pub`,
    "--etcd-cafile": `${PKI}/etcd/ca-bundle.crt`,
  },
  "controller-manager-signer-new": {
    "--service-account-private-key-file": `${PKI}/sa-new.key`,
  },
  "controller-manager-trust-new": {
    "--service-account-private-key-file": `${PKI}/sa.key`,
  },
  "apiserver-trust-new": {
    "--service-account-key-file": `${PKI}/sa.pub`,
    "--service-account-signing-key-file": `${PKI}/sa.key`,
    "--etcd-cafile": `${PKI}/etcd/ca.crt`,
  },
};

/**
 * The four-credential plan named `name`, stopping after `stopAfter`: local-demo.yaml's header
 * with the etcd CA under `cas`, and every step of the four procedures in one order.
 */
export async function fourCredentialsPlan(name: string, stopAfter: string): Promise<string> {
  const doc = parseDocument(await Deno.readTextFile(join(repo, "plans/local-demo.yaml")));
  doc.set("metadata", doc.createNode({ name }));
  doc.set("stopAfter", stopAfter);
  const etcdPlan = parse(await Deno.readTextFile(join(repo, "plans/local-etcd-ca.yaml"))) as {
    cas: { etcd: unknown };
    steps: { id: string }[];
  };
  const cas = doc.get("cas") as YAMLMap;
  cas.set("etcd", doc.createNode(etcdPlan.cas.etcd));
  const steps = doc.get("steps") as YAMLSeq;
  if (!isSeq(steps)) throw new Error("plans/local-demo.yaml: steps is not a list");
  const etcdStep = (id: string) => {
    const step = etcdPlan.steps.find((each) => each.id === id);
    if (!step) throw new Error(`plans/local-etcd-ca.yaml has no step ${id}`);
    return step;
  };
  const indexOf = (id: string) => {
    const index = steps.items.findIndex((item) => isMap(item) && item.get("id") === id);
    if (index < 0) throw new Error(`plans/local-demo.yaml has no step ${id}`);
    return index;
  };
  const insert = (at: number, added: unknown[]) =>
    steps.items.splice(at, 0, ...added.map((step) => doc.createNode(step)));

  for (const [id, flags] of Object.entries(MERGED_FLAGS)) {
    const step = steps.items[indexOf(id)] as YAMLMap;
    const existing = step.get("flags") as YAMLMap;
    for (const [flag, value] of Object.entries(flags)) existing.set(flag, value);
  }
  for (const [id, ids] of Object.entries(ETCD_STEPS.before)) {
    insert(indexOf(id), ids.map(etcdStep));
  }
  for (const [id, ids] of Object.entries(ETCD_STEPS.after)) {
    insert(indexOf(id) + 1, ids.map(etcdStep));
  }
  for (const [id, added] of Object.entries(SA_STEPS_AFTER)) insert(indexOf(id) + 1, added);
  insert(0, ETCD_STEPS.first.map(etcdStep));
  return doc.toString({ lineWidth: 100 });
}
