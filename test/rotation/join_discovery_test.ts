/**
 * Joins at every moment (issue 19), on the real control plane (one API server, one worker) with
 * kubeadm's own discovery code: a join pinned to the `--discovery-token-ca-cert-hash` that
 * `status` prints passes discovery before the rotation, after trust (either CA's hash), all
 * through the switch (while the API server restarts onto its new-CA certificate) and after it,
 * and after finalize (the new CA's hash). Negative control: after finalize, the pre-rotation hash
 * fails ("none of the public keys … are pinned"). Each cluster-info update waits for the
 * bootstrap signer's signature of the test token, which kubeadm's discovery checks too.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { withCluster } from "../cluster/harness.ts";
import { assertExit, caRotator } from "./end_state.ts";
import { createBootstrapToken, discover, type Discovery } from "./join_discovery.ts";
import type { JoinNeeds } from "../../src/app/join_needs.ts";

const repo = new URL("../../", import.meta.url).pathname;

/** plans/local-demo.yaml, stopping after `stopAfter`, in a temporary directory. */
async function demoPlan(dir: string, stopAfter: string): Promise<string> {
  const path = join(dir, `local-demo-${stopAfter}.yaml`);
  const text = await Deno.readTextFile(join(repo, "plans/local-demo.yaml"));
  await Deno.writeTextFile(path, text.replace(/^stopAfter: trust$/m, `stopAfter: ${stopAfter}`));
  return path;
}

const TOKEN = { id: "joins1", secret: "j0insat3verym0mt" };

Deno.test({
  name: "a join pinned to the hash status prints passes kubeadm's discovery at every phase",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const began = Date.now();
  await withCluster({ apiServers: 1, nodes: 1 }, async (cluster) => {
    const dir = await Deno.makeTempDir({ prefix: "ca-rotator-join-" });
    const plans = {
      trust: await demoPlan(dir, "trust"),
      switch: await demoPlan(dir, "switch"),
      finalize: await demoPlan(dir, "finalize"),
    };
    const endpoint = new URL(cluster.endpoint).host;
    await createBootstrapToken(cluster, TOKEN);
    const joins = async (plan: string): Promise<JoinNeeds> => {
      const result = await caRotator(cluster, ["status", "--plan", plan, "-o", "json"]);
      assertExit(result, 0, "status -o json");
      return JSON.parse(result.stdout).joins;
    };
    const joined = (what: string, result: Discovery) =>
      assert.ok(result.ok, `${what}: kubeadm's discovery failed: ${result.error}`);
    let oldHash = "";
    let newHash = "";

    await t.step(
      "before: status prints the current CA's hash; a join pinned to it passes",
      async () => {
        const needs = await joins(plans.trust);
        assert.equal(needs.hashes.length, 1);
        assert.equal(needs.hashes[0].ca, "current");
        oldHash = needs.hashes[0].hash;
        assert.match(oldHash, /^sha256:[0-9a-f]{64}$/);
        assert.deepEqual(needs.next, {
          phase: "trust",
          step: "cluster-info-bundle",
          caData: "bundle",
        });
        const text = await caRotator(cluster, ["status", "--plan", plans.trust]);
        assertExit(text, 0, "status");
        assert.ok(
          text.stdout.includes(`Joins: kubeadm join --discovery-token-ca-cert-hash ${oldHash}\n`),
          text.stdout,
        );
        const result = await discover(cluster, endpoint, TOKEN, [oldHash]);
        joined("before the rotation", result);
        assert.deepEqual(result.caHashes, [oldHash]);
      },
    );

    await t.step(
      "after trust: cluster-info carries both CAs; a join pinned to either passes",
      async () => {
        const run = await caRotator(cluster, ["rotate", "--plan", plans.trust]);
        assertExit(run, 0, "rotate (trust)");
        assert.match(
          run.stderr,
          /\[cluster-info-bundle\].*the bootstrap signer's signatures of [1-9]\d* bootstrap token\(s\) match it/,
        );
        const needs = await joins(plans.trust);
        assert.deepEqual(needs.hashes.map((each) => each.ca), ["old", "new"]);
        assert.equal(needs.hashes[0].hash, oldHash);
        newHash = needs.hashes[1].hash;
        assert.deepEqual(needs.next, {
          phase: "finalize",
          step: "cluster-info-new",
          caData: "new",
          hashes: [{ hash: newHash, ca: "new" }],
        });
        for (const hash of [newHash, oldHash]) {
          const result = await discover(cluster, endpoint, TOKEN, [hash]);
          joined(`after trust, pinned to ${hash}`, result);
          assert.deepEqual(result.caHashes, [oldHash, newHash]);
        }
      },
    );

    await t.step(
      "through the switch and after it, a join pinned to either hash passes",
      async () => {
        let running = true;
        const switched = caRotator(cluster, ["rotate", "--plan", plans.switch]).finally(() => {
          running = false;
        });
        const results: { hash: string; result: Discovery }[] = [];
        while (running) {
          const hash = results.length % 2 === 0 ? newHash : oldHash;
          results.push({ hash, result: await discover(cluster, endpoint, TOKEN, [hash], 90) });
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        assertExit(await switched, 0, "rotate (switch)");
        const failed = results.filter(({ result }) => !result.ok);
        console.log(
          `discoveries during the switch: ${results.length}, failed ${failed.length}, longest ${
            Math.max(...results.map(({ result }) => result.seconds)).toFixed(1)
          } s`,
        );
        assert.deepEqual(failed, [], "every discovery during the switch passed");
        assert.ok(results.length >= 3, `${results.length} discoveries during the switch`);
        const needs = await joins(plans.switch);
        assert.deepEqual(needs.hashes.map((each) => each.hash), [oldHash, newHash]);
        assert.equal(needs.next?.phase, "finalize");
        for (const hash of [newHash, oldHash]) {
          joined(
            `after switch, pinned to ${hash}`,
            await discover(cluster, endpoint, TOKEN, [hash]),
          );
        }
      },
    );

    await t.step(
      "after finalize: the new CA's hash passes; negative control: the old one fails",
      async () => {
        const run = await caRotator(cluster, ["rotate", "--plan", plans.finalize]);
        assertExit(run, 0, "rotate (finalize)");
        assert.match(
          run.stderr,
          /\[cluster-info-new\].*signatures of [1-9]\d* bootstrap token\(s\) match it/,
        );
        const needs = await joins(plans.finalize);
        assert.deepEqual(needs, { hashes: [{ hash: newHash, ca: "new" }] });
        const result = await discover(cluster, endpoint, TOKEN, [newHash]);
        joined("after finalize", result);
        assert.deepEqual(result.caHashes, [newHash]);
        const refused = await discover(cluster, endpoint, TOKEN, [oldHash], 10);
        assert.equal(refused.ok, false, "a join pinned to the pre-rotation hash is refused");
        assert.match(refused.error ?? "", /none of the public keys .* are pinned/);
      },
    );
  });
  console.log(`join discovery test: ${Math.round((Date.now() - began) / 1000)} s`);
});
