/**
 * The negative control of the aggregated-API claim: a rotation that skips re-issuing
 * front-proxy-client (an operator who removed that step, and the leaf-certificates check from
 * the verify steps) completes its flags and files — and the aggregated API server, once
 * extension-apiserver-authentication holds the new front-proxy CA only (prune-authentication-trust),
 * refuses every request kube-apiserver proxies with its old-CA client certificate. The probe through the load balancer sees it, and a `verify` step with the
 * leaf-certificates check says why.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { eventually, startCluster } from "../cluster/harness.ts";
import { deployAggregatedApi } from "../cluster/aggregated_api.ts";
import {
  adminCredentials,
  type AggregatedProbe,
  failureCount,
  startAggregatedProbe,
} from "../cluster/aggregated_probe.ts";

const repo = new URL("../../", import.meta.url).pathname;

/** plans/local-demo.yaml without the front-proxy-client re-issue and without the leaf check. */
function skippingFrontProxyClient(plan: string): string {
  const without = plan
    .replace(
      / {2}- id: reissue-front-proxy-leaves\n {4}phase: switch\n {4}kind: reissue-leaves\n {4}ca: frontProxy\n {4}certs: \[front-proxy-client\]\n\n/,
      "",
    )
    .replaceAll(/\n {6}- leaf-certificates[^\n]*/g, "")
    .replace(/^stopAfter: .*$/m, "stopAfter: finalize");
  assert.ok(!without.includes("reissue-front-proxy-leaves"), "the re-issue step is gone");
  assert.ok(!without.includes("leaf-certificates"), "so is the check");
  return without + `
  - id: verify-leaves # what an operator runs when the aggregated API fails
    phase: finalize
    kind: verify
    expect: finalize
    checks: [leaf-certificates]
    timeoutSeconds: 5
`;
}

Deno.test({
  name: "skipping front-proxy-client's re-issue breaks the aggregated API; verify says why",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const cluster = await startCluster({ apiServers: 1, nodes: 1 });
  let probe: AggregatedProbe | undefined;
  try {
    await deployAggregatedApi(cluster);
    const dir = await Deno.makeTempDir({ prefix: "ca-rotator-front-proxy-" });
    const planPath = join(dir, "plan.yaml");
    await Deno.writeTextFile(
      planPath,
      skippingFrontProxyClient(await Deno.readTextFile(join(repo, "plans/local-demo.yaml"))),
    );
    probe = startAggregatedProbe({ credentials: adminCredentials(cluster.nodeRoots[0]) });
    await eventually("the aggregated API answers", () => Promise.resolve(probe!.counts.ok >= 3));
    assert.equal(failureCount(probe.counts), 0, "no failure before the rotation");

    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(repo, "main.ts"), "rotate", "--plan", planPath],
      cwd: repo,
      env: { ...cluster.env, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 1, `rotate exited ${output.code}:\n${stderr.slice(-3000)}`);
    assert.match(
      stderr,
      /\[verify-leaves\][\s\S]*front-proxy-client\.crt: "CN=front-proxy-client" is not issued by the new frontProxy CA: aggregated API servers will refuse every proxied request/,
    );

    // 401: the aggregated server no longer accepts kube-apiserver's old-CA proxy certificate.
    const refused = () => probe!.counts.failures.unauthorized;
    await eventually(
      "the aggregated API to refuse proxied requests",
      () => Promise.resolve(refused() >= 3),
      90_000,
    );
    const counts = await probe.stop();
    probe = undefined;
    console.log(`aggregated-API probe (variant): ${JSON.stringify(counts)}`);
    assert.ok(counts.failures.unauthorized >= 3, `401s: ${counts.failures.unauthorized}`);
  } finally {
    await probe?.stop();
    await cluster.stop();
  }
});
