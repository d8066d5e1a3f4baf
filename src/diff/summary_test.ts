import assert from "node:assert/strict";
import type { Change } from "../engine/change.ts";
import { renderSummary, summarize } from "./summary.ts";

const file = (node: string, path: string, action: Change["action"] = "update"): Change => ({
  action,
  target: { type: "file", node, path },
  before: action === "create" ? undefined : "old\n",
  after: action === "delete" ? undefined : "new\n",
});
const restart = (node: string, component: string): Change => ({
  action: "restart",
  target: { type: "component", node, component },
});
const roll = (name: string): Change => ({
  action: "roll",
  target: { type: "workload", kind: "Deployment", namespace: "default", name },
});
const object = (name: string, action: Change["action"] = "update"): Change => ({
  action,
  target: { type: "object", apiVersion: "v1", kind: "ConfigMap", namespace: "kube-public", name },
  before: action === "create" ? undefined : "a: 1\n",
  after: "a: 2\n",
});

Deno.test("summarize() counts distinct files, objects, workloads and every restart", () => {
  const changes: Change[] = [
    file("cp-1", "/etc/kubernetes/admin.conf"),
    file("cp-1", "/etc/kubernetes/admin.conf"), // the same file again, in a later step
    file("cp-2", "/etc/kubernetes/admin.conf"),
    file("cp-1", "/etc/kubernetes/pki/ca-new.key", "create"),
    file("cp-1", "/etc/kubernetes/pki/ca-old.crt", "delete"),
    object("cluster-info"),
    object("ca-rotator", "create"),
    restart("cp-1", "kube-apiserver"),
    restart("cp-1", "kube-apiserver"), // restarted again, in a later phase
    restart("cp-2", "kube-apiserver"),
    roll("web"),
    roll("web"),
    roll("api"),
    { ...file("cp-3", "/etc/kubernetes/unchanged.conf"), after: "old\n" }, // nothing to do
  ];
  assert.deepEqual(summarize(changes), {
    changed: true,
    files: 4,
    objects: 2,
    restarts: 3,
    components: 2,
    workloads: 2,
    creates: 2,
    updates: 4,
    deletes: 1,
  });
});

Deno.test("renderSummary() gives the plan line", () => {
  const changes: Change[] = [
    ...Array.from({ length: 12 }, (_, i) => file(`cp-${i % 3}`, `/etc/kubernetes/f${i}`)),
    ...Array.from({ length: 4 }, (_, i) => object(`o${i}`)),
    ...Array.from({ length: 9 }, (_, i) => restart(`cp-${i}`, "kubelet")),
    ...Array.from({ length: 23 }, (_, i) => roll(`w${i}`)),
  ];
  assert.equal(
    renderSummary(summarize(changes)),
    "Plan: 12 files, 4 objects, 9 restarts, 23 workloads to change.",
  );
  assert.equal(
    renderSummary(summarize([file("cp-1", "/a"), roll("w")])),
    "Plan: 1 file, 0 objects, 0 restarts, 1 workload to change.",
  );
});

Deno.test("renderSummary() says No changes. for an empty list or only no-op changes", () => {
  assert.equal(renderSummary(summarize([])), "No changes.");
  const noop = { ...file("cp-1", "/a"), after: "old\n" };
  assert.equal(renderSummary(summarize([noop])), "No changes.");
  assert.equal(summarize([noop]).files, 0);
});
