import assert from "node:assert/strict";
import { activateCa } from "../activate_ca.ts";
import { distributeCa } from "../distribute_ca.ts";
import { reissueLeaves } from "../reissue_leaves.ts";
import { LocalNodesCluster, type TestContext } from "../_test_cluster.ts";
import { runVerifyChecks } from "./run_checks.ts";

type CaName = "cluster" | "frontProxy";

/** Runs one step kind's observe → diff → apply on the test nodes. */
async function converge<S>(
  ctx: TestContext,
  kind: {
    schema: { parse(value: unknown): S };
    observe(ctx: TestContext, step: S): Promise<unknown>;
    diff(observed: never, step: S): unknown[];
    apply(ctx: TestContext, step: S, changes: never[]): Promise<void>;
  },
  fields: Record<string, unknown>,
): Promise<void> {
  const step = kind.schema.parse(fields);
  const changes = kind.diff(await kind.observe(ctx, step) as never, step);
  await kind.apply(ctx, step, changes as never[]);
}

/** Both CAs distributed and activated; the leaves of `reissue` re-issued by their new CA. */
async function switched(reissue: { ca: CaName; certs: string[] }[]): Promise<LocalNodesCluster> {
  const cluster = await LocalNodesCluster.create();
  const ctx = cluster.context();
  for (const ca of ["cluster", "frontProxy"] as const) {
    await converge(ctx, distributeCa, {
      id: `d-${ca.toLowerCase()}`,
      phase: "trust",
      kind: "distribute-ca",
      ca,
    });
    await converge(ctx, activateCa, {
      id: `a-${ca.toLowerCase()}`,
      phase: "switch",
      kind: "activate-ca",
      ca,
    });
  }
  for (const { ca, certs } of reissue) {
    await converge(ctx, reissueLeaves, {
      id: `r-${ca.toLowerCase()}`,
      phase: "switch",
      kind: "reissue-leaves",
      ca,
      certs,
    });
  }
  return cluster;
}

const leafCheck = async (cluster: LocalNodesCluster) =>
  (await runVerifyChecks(cluster.context(), {
    expect: "switch",
    checks: ["leaf-certificates"],
  })).checks[0];

Deno.test("leaf-certificates: every kubeadm leaf re-issued by its new CA passes", async () => {
  await using cluster = await switched([
    { ca: "cluster", certs: ["apiserver", "apiserver-kubelet-client"] },
    { ca: "frontProxy", certs: ["front-proxy-client"] },
  ]);
  const result = await leafCheck(cluster);
  assert.deepEqual(result.problems, []);
  assert.match(result.summary, /^6 leaf certificates on 2 control-plane nodes/);
});

Deno.test("leaf-certificates: a front-proxy-client left on the old CA fails, saying why", async () => {
  await using cluster = await switched([
    { ca: "cluster", certs: ["apiserver", "apiserver-kubelet-client"] },
  ]);
  const result = await leafCheck(cluster);
  assert.equal(result.ok, false);
  assert.equal(result.problems.length, 2, result.problems.join("\n"));
  assert.match(
    result.problems[0],
    /^cp-1:\/etc\/kubernetes\/pki\/front-proxy-client\.crt: "CN=front-proxy-client" is not issued by the new frontProxy CA: aggregated API servers will refuse every proxied request/,
  );
});

Deno.test("leaf-certificates: nothing to check before the switch", async () => {
  await using cluster = await LocalNodesCluster.create();
  const report = await runVerifyChecks(cluster.context(), {
    expect: "trust",
    checks: ["leaf-certificates"],
  });
  assert.equal(report.ok, true);
});
