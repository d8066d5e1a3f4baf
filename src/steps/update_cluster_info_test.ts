import assert from "node:assert/strict";
import { parse } from "yaml";
import { clusterInfoChanges, clusterInfoYaml } from "./update_cluster_info.ts";
import { kubeconfigCaData, setKubeconfigCaData } from "../formats/kubeconfig_file.ts";
import { parsePlan } from "../app/plan.ts";
import { edit, shippedPlan } from "../plan/_test_plans.ts";

const OLD_PEM = "-----BEGIN CERTIFICATE-----\nb2xk\n-----END CERTIFICATE-----\n";
const NEW_PEM = "-----BEGIN CERTIFICATE-----\nbmV3\n-----END CERTIFICATE-----\n";

const kubeconfig = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${btoa(OLD_PEM)}
    server: https://198.18.1.100:6443
  name: ""
contexts: null
current-context: ""
kind: Config
preferences: {}
users: null
`;

Deno.test("clusterInfoChanges: an object update with the kubeconfig before and after", () => {
  const desired = setKubeconfigCaData(kubeconfig, NEW_PEM);
  const changes = clusterInfoChanges({ current: kubeconfig, desired, caData: "new" });
  assert.equal(changes.length, 1);
  const [change] = changes;
  assert.equal(change.action, "update");
  assert.deepEqual(change.target, {
    type: "object",
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: "kube-public",
    name: "cluster-info",
  });
  const before = parse(change.before!);
  const after = parse(change.after!);
  assert.equal(before.metadata.namespace, "kube-public");
  assert.deepEqual(kubeconfigCaData(before.data.kubeconfig), [OLD_PEM]);
  assert.deepEqual(kubeconfigCaData(after.data.kubeconfig), [NEW_PEM]);
  assert.match(after.data.kubeconfig, /server: https:\/\/198\.18\.1\.100:6443/);
  assert.match(change.reason!, /new CA only/);
});

Deno.test("clusterInfoChanges: nothing when it already holds the CA data or does not exist", () => {
  assert.deepEqual(
    clusterInfoChanges({ current: kubeconfig, desired: kubeconfig, caData: "new" }),
    [],
  );
  assert.deepEqual(clusterInfoChanges({ caData: "bundle" }), []);
});

Deno.test("clusterInfoYaml: the kubeconfig as a block of the ConfigMap's data", () => {
  const text = clusterInfoYaml(kubeconfig);
  assert.match(text, /^apiVersion: v1\nkind: ConfigMap\n/);
  assert.match(text, /kubeconfig: \|/);
  assert.equal(parse(text).data.kubeconfig, kubeconfig);
});

const kubeadmPlan = await Deno.readTextFile(shippedPlan("kubeadm.yaml"));
const NEW_STEP = "    kind: update-cluster-info\n    caData: new\n";

Deno.test("signatureTimeoutSeconds is tuning: the plan and step digests stay", () => {
  const base = parsePlan(kubeadmPlan, "plans/kubeadm.yaml", {});
  const tuned = parsePlan(
    edit(kubeadmPlan, NEW_STEP, `${NEW_STEP}    signatureTimeoutSeconds: 600\n`),
    "plans/kubeadm.yaml",
    {},
  );
  assert.equal(tuned.digest, base.digest);
  assert.deepEqual(tuned.stepDigests, base.stepDigests);
});

Deno.test("a bad signatureTimeoutSeconds is refused naming its line and field", () => {
  const bad = edit(kubeadmPlan, NEW_STEP, `${NEW_STEP}    signatureTimeoutSeconds: 0\n`);
  assert.throws(
    () => parsePlan(bad, "plans/kubeadm.yaml", {}),
    /line \d+, steps\[\d+\]\.signatureTimeoutSeconds: must be at least 1/,
  );
});
