import assert from "node:assert/strict";
import { join } from "node:path";
import { loadPlan } from "../../src/app/plan.ts";
import { fourCredentialsPlan } from "./four_credentials_plan.ts";

const ENV = {
  NODE_ROOTS: "/tmp/cluster/cp-1 /tmp/cluster/cp-2 /tmp/cluster/cp-3",
  NODE_IPS: "198.18.1.1 198.18.1.2 198.18.1.3",
  WORKER_ROOTS: "/tmp/cluster/worker-1",
};

/** The API servers' restarts of a phase: their flag steps, and reissue-leaves that restart them. */
function apiServerRestarts(steps: { id: string; phase: string; kind: string }[], phase: string) {
  return steps.filter((step) =>
    step.phase === phase && (
      (step.kind === "set-component-flags" &&
        (step as unknown as { component: string }).component === "kube-apiserver") ||
      (step.kind === "reissue-leaves" &&
        (step as unknown as { restart?: string }).restart === "kube-apiserver")
    )
  ).map((step) => step.id);
}

Deno.test("the four-credential plan validates, every credential's steps in an order that holds", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "four.yaml");
  await Deno.writeTextFile(path, await fourCredentialsPlan("four-credentials", "finalize"));
  const { plan } = await loadPlan(path, ENV);
  assert.deepEqual(Object.keys(plan.cas).sort(), ["cluster", "etcd", "frontProxy"]);
  const ids = plan.steps.map((step) => step.id);
  const before = (a: string, b: string) =>
    assert.ok(ids.indexOf(a) >= 0 && ids.indexOf(a) < ids.indexOf(b), `${a} before ${b}`);
  before("etcd-snapshot", "distribute-cluster-ca");
  before("etcd-trust-bundle", "apiserver-trust-bundle");
  before("apiserver-trust-bundle", "sa-jwks-bundle");
  before("etcd-trust-gate", "verify-trust");
  before("reissue-etcd-leaves", "reissue-cluster-leaves"); // its restart loads apiserver-etcd-client
  before("apiserver-sa-signing-new", "roll-workloads-switch"); // rolled pods get new-key tokens
  before("activate-sa-key", "controller-manager-trust-new");
  before("etcd-trust-new", "apiserver-trust-new");
  before("apiserver-trust-new", "sa-jwks-new");
  // One API-server restart in trust and in finalize; the switch's signing key is the one more.
  assert.deepEqual(apiServerRestarts(plan.steps, "trust"), ["apiserver-trust-bundle"]);
  assert.deepEqual(apiServerRestarts(plan.steps, "switch"), [
    "reissue-cluster-leaves",
    "apiserver-sa-signing-new",
  ]);
  assert.deepEqual(apiServerRestarts(plan.steps, "finalize"), ["apiserver-trust-new"]);
  const flags = (id: string) =>
    (plan.steps.find((step) => step.id === id) as unknown as { flags: Record<string, string> })
      .flags;
  assert.equal(
    flags("apiserver-trust-bundle")["--service-account-key-file"],
    "/etc/kubernetes/pki/sa-bundle.pub",
  );
  assert.equal(
    flags("apiserver-trust-new")["--etcd-cafile"],
    "/etc/kubernetes/pki/etcd/ca.crt",
  );
});
