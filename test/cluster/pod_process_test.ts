import assert from "node:assert/strict";
import {
  podEnv,
  podPaths,
  restartDelayMs,
  serviceAccountTokenSource,
  shouldRun,
  tokenRefreshAt,
} from "./pod_process.ts";
import { type Pod, programArgv, programOf } from "./pod_programs.ts";

const pod = (patch: Partial<Pod> = {}): Pod => ({
  metadata: {
    name: "client-1",
    namespace: "ns",
    uid: "u1",
    labels: { "ca-rotator.test/process": "incluster-client" },
  },
  spec: {
    nodeName: "worker-1",
    serviceAccountName: "reader",
    containers: [{ name: "c", args: ["--x"], env: [{ name: "A", value: "1" }, { name: "B" }] }],
    volumes: [{
      name: "kube-api-access-abcde",
      projected: { sources: [{ serviceAccountToken: { path: "token", expirationSeconds: 3607 } }] },
    }],
  },
  status: { phase: "Running" },
  ...patch,
});

Deno.test("a pod's process runs while it is scheduled, Running and not being deleted", () => {
  assert.equal(shouldRun(pod()), true);
  assert.equal(shouldRun(pod({ status: { phase: "Pending" } })), false);
  const deleting = pod();
  deleting.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
  assert.equal(shouldRun(deleting), false);
});

Deno.test("the label names the program; unknown names have none; args come from the container", () => {
  assert.deepEqual(programArgv(programOf(pod())!.program!, "/bin-dir", pod()), [
    "/bin-dir/incluster-client",
    "--x",
  ]);
  const other = pod();
  other.metadata.labels = { "ca-rotator.test/process": "toString" };
  assert.deepEqual(programOf(other), { name: "toString", program: undefined });
  other.metadata.labels = {};
  assert.equal(programOf(other), undefined);
});

Deno.test("tokens are refreshed when 20 % of the requested lifetime is left, or after 24 h", () => {
  const exp = new Date("2026-01-01T00:10:00Z");
  assert.equal(tokenRefreshAt(exp, 600).toISOString(), "2026-01-01T00:08:00.000Z");
  const yearLong = new Date(Date.parse("2026-01-01T00:00:00Z") + 365 * 86400_000);
  assert.equal(
    tokenRefreshAt(yearLong, 365 * 86400).toISOString(),
    "2026-01-02T00:00:00.000Z",
  );
});

Deno.test("the environment is the kubernetes Service's, the pod's and its container's literal env", () => {
  const paths = podPaths("/state/pods", "ns", "client-1");
  assert.equal(
    paths.serviceAccountDir,
    "/state/pods/ns_client-1/var/run/secrets/kubernetes.io/serviceaccount",
  );
  const env = podEnv(pod(), { ip: "198.18.7.100", port: 6443 }, paths);
  assert.equal(env.KUBERNETES_SERVICE_HOST, "198.18.7.100");
  assert.equal(env.KUBERNETES_SERVICE_PORT, "6443");
  assert.equal(env.KUBERNETES_PORT_6443_TCP_ADDR, "198.18.7.100");
  assert.equal(env.POD_NAME, "client-1");
  assert.equal(env.POD_NAMESPACE, "ns");
  assert.equal(env.STATUS_FILE, "/state/pods/ns_client-1/status.json");
  assert.equal(env.SERVICEACCOUNT_DIR, paths.serviceAccountDir);
  assert.equal(env.A, "1");
  assert.equal("B" in env, false);
});

Deno.test("only a pod with the projected token volume gets a ServiceAccount volume", () => {
  assert.deepEqual(serviceAccountTokenSource(pod()), { path: "token", expirationSeconds: 3607 });
  assert.equal(serviceAccountTokenSource(pod({ spec: { ...pod().spec, volumes: [] } })), undefined);
});

Deno.test("restarts back off 1, 2, 4 … 30 s", () => {
  assert.deepEqual([1, 2, 3, 6, 7, 20].map(restartDelayMs), [
    1000,
    2000,
    4000,
    30000,
    30000,
    30000,
  ]);
});
