/**
 * The service-account signing key rotates with no failed request, on the real control plane:
 * API servers behind haproxy (two; three with CA_ROTATOR_API_SERVERS=3), client-go in-cluster
 * clients whose bound tokens the cluster's pod supervisor requests and refreshes as the kubelet does (test/cluster/pod_process.ts). The
 * plan holds only the service-account key's steps (trust → switch → finalize); the trust run is
 * killed (SIGKILL) once the new key is staged and the finalize run once `activate-sa-key` has
 * written, and each resumed run converges. Two client pods authenticate with a legacy token
 * Secret mounted as a volume: the gate does not re-issue it under them, naming them; one is moved
 * off it (deleted) and, as the negative control of that hold, the plan then re-issues it anyway
 * (reissueSecretsInUse) under the other, which gets 401 until the kubelet writes the new token
 * into its volume. Then, on the same cluster, the negative control: a
 * second rotation that switches signing before any API server verifies the new key; its tokens
 * get 401 at every API server, through haproxy and in the in-cluster clients, and the JWKS check
 * names every API server. That rotation is then rolled back (after its switch): the key the
 * first rotation made signs and is verified alone again.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  eventually,
  loadBalancedApiServers,
  startCluster,
  type TestCluster,
} from "../cluster/harness.ts";
import { type Probe, startProbe } from "./probe.ts";
import { PROCESS_LABEL } from "../cluster/pod_programs.ts";
import {
  type ClientStatus,
  clientStatuses,
  deployInClusterClients,
  deployLegacyTokenClient,
  describeClient,
} from "./in_cluster_clients.ts";
import { podFiles } from "../cluster/pod_processes.ts";
import { readVolume } from "../cluster/pod_volume.ts";
import { assertExit, caRotator, type RunResult } from "./end_state.ts";
import { findKeysInCluster } from "./cluster_key_scan.ts";
import { describeLeak, findLeaks, keyNeedles } from "./secret_scan.ts";
import { manifestFlags } from "../../src/formats/static_pod_manifest.ts";
import { jwtKeyId, publicKeyIds } from "../../src/pki/mod.ts";
import { type KilledRun, type KillPoint, runKilledAt } from "./kill_at_event.ts";
import {
  clientTotals,
  createTokenSecret,
  jwksKeyIds,
  teamAToken,
  tokenSecretKeyId,
  tokenStatus,
} from "./sa_tokens.ts";

const repo = new URL("../../", import.meta.url).pathname;
const PKI = "etc/kubernetes/pki";
const APISERVER_MANIFEST = "etc/kubernetes/manifests/kube-apiserver.yaml";

/** plans/local-demo.yaml's nodes, layout and workloads, a new CA it never uses, and `steps`. */
async function saKeyPlan(name: string, stopAfter: string, steps: string): Promise<string> {
  const demo = await Deno.readTextFile(join(repo, "plans/local-demo.yaml"));
  const header = demo.slice(0, demo.indexOf("\nsteps:"))
    .replace(/^ {2}name: .*$/m, `  name: ${name}`)
    .replace(/^stopAfter: .*$/m, `stopAfter: ${stopAfter}`)
    .replace(/^ {2}cluster: .*\n/m, "");
  return `${header}\nsteps:\n${steps}`;
}

/** Stages the new key (trust). */
const DISTRIBUTE = `
  - { id: distribute-sa-key, phase: trust, kind: distribute-sa-key, algorithm: rsa-2048 }
`;

/** The API servers sign with the staged key (switch). */
const SIGN_WITH_NEW = `
  - id: apiserver-sa-signing-new
    phase: switch
    kind: set-component-flags
    component: kube-apiserver
    flags: { --service-account-signing-key-file: /etc/kubernetes/pki/sa-new.key }
    healthTimeoutSeconds: 180
`;

/** The procedure of README "Rotating the service-account signing key", on its own. */
const POSITIVE_STEPS = `${DISTRIBUTE}
  - id: apiserver-sa-verify-bundle
    phase: trust
    kind: set-component-flags
    component: kube-apiserver
    flags: { --service-account-key-file: /etc/kubernetes/pki/sa-bundle.pub }
    healthTimeoutSeconds: 180
  - { id: sa-jwks-bundle, phase: trust, kind: verify-sa-jwks, expect: bundle }
${SIGN_WITH_NEW}
  - id: controller-manager-sa-signing-new
    phase: switch
    kind: set-component-flags
    component: kube-controller-manager
    flags: { --service-account-private-key-file: /etc/kubernetes/pki/sa-new.key }
  - { id: roll-workloads-sa, phase: switch, kind: roll-workloads }

  - id: sa-token-gate
    phase: finalize
    kind: verify-sa-tokens
    signingSwitchedBy: apiserver-sa-signing-new
    reissueTokenSecrets: [team-a]
  - { id: activate-sa-key, phase: finalize, kind: activate-sa-key }
  - id: apiserver-sa-verify-new
    phase: finalize
    kind: set-component-flags
    component: kube-apiserver
    flags:
      --service-account-key-file: /etc/kubernetes/pki/sa.pub
      --service-account-signing-key-file: /etc/kubernetes/pki/sa.key
    healthTimeoutSeconds: 180
  - id: controller-manager-sa-key
    phase: finalize
    kind: set-component-flags
    component: kube-controller-manager
    flags: { --service-account-private-key-file: /etc/kubernetes/pki/sa.key }
  - { id: sa-jwks-new, phase: finalize, kind: verify-sa-jwks, expect: new }
  - { id: remove-old-sa-key, phase: finalize, kind: remove-old-sa-key }
`;

/** Where the trust run is killed: the new key staged on every node, the step not yet done. */
const TRUST_KILL_POINT: KillPoint = { step: "distribute-sa-key", type: "ChangeApplied", k: 1 };
/** Where the finalize run is killed: sa.key/sa.pub are the new pair, no flag names them yet. */
const FINALIZE_KILL_POINT: KillPoint = { step: "activate-sa-key", type: "ChangeApplied", k: 1 };

/** A bare Pod of the in-cluster client, started once signing switched in the negative control. */
const NEGATIVE_POD = "negative-client";
/** A bare Pod of the in-cluster client, started once the negative control is rolled back. */
const AFTER_ROLLBACK_POD = "after-rollback-client";

/**
 * Client pods that authenticate with team-a's legacy token Secret, mounted as a volume the test
 * cluster syncs as a kubelet does (every minute and up to half again). The gate does not re-issue
 * a Secret they read; the first is moved off it by its owner (deleted), and the negative control
 * re-issues it under the second (reissueSecretsInUse), which then gets 401 until its volume syncs.
 */
const LEGACY_TOKEN_POD = "legacy-token-client";
const CUT_OFF_POD = "cut-off-client";
const CUT_OFF_SYNC_SECONDS = 10;

/** The negative control: signing switches with no API server told of the new key first. */
const NEGATIVE_STEPS = `${DISTRIBUTE}${SIGN_WITH_NEW}`;

/** A killed run as a {@link RunResult}: its event lines as stdout (scanned for key material). */
function asRunResult(killed: KilledRun): RunResult {
  const stdout = killed.lines.map((line) => JSON.stringify(line)).join("\n");
  return { code: killed.code, stdout, stderr: killed.stderr };
}

/**
 * Starts a bare Pod of the in-cluster client as team-a's `reader` (no controller needed: the
 * scheduler and the pod supervisor use certificates) and returns its status once `until` holds;
 * then deletes it.
 */
async function bareClient(
  cluster: TestCluster,
  name: string,
  until: (status: ClientStatus) => boolean,
): Promise<ClientStatus> {
  await cluster.kubectl(["apply", "-f", "-"], {
    stdin: JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "team-a", labels: { [PROCESS_LABEL]: "incluster-client" } },
      spec: {
        serviceAccountName: "reader",
        containers: [{ name: "client", image: "ca-rotator.test/incluster-client" }],
      },
    }),
  });
  const status = await eventually(`team-a/${name}: its client's status`, async () => {
    const pod = (await clientStatuses(cluster, { ended: false })).find((each) =>
      each.namespace === "team-a" && each.pod === name
    );
    return pod && until(pod) ? pod : undefined;
  }, 120_000);
  await cluster.kubectl(["delete", "pod", name, "-n", "team-a", "--wait=false"]);
  return status;
}

/** team-a's ReplicaSets, pods and events and the controller-managers' last log lines. */
async function printControllerDiagnostics(cluster: TestCluster): Promise<void> {
  for (const what of ["rs,pods", "events"]) {
    console.log(await cluster.kubectl(["get", what, "-n", "team-a", "-o", "wide"]).catch(String));
  }
  for (const root of cluster.nodeRoots) {
    const log = await Deno.readTextFile(join(root, "var/log/kube-controller-manager.log"))
      .catch(String);
    console.log(`${root} kube-controller-manager.log:\n${log.split("\n").slice(-40).join("\n")}`);
  }
}

const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(0);

Deno.test({
  name: "the service-account signing key rotates with zero 401s; switching early shows them",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const began = Date.now();
  const cluster = await startCluster({ apiServers: loadBalancedApiServers(), nodes: 2 });
  let probe: Probe | undefined;
  const outputs: { what: string; result: RunResult }[] = [];
  const killedRun = (what: string, plan: string, point: KillPoint) =>
    runKilledAt(cluster.env, plan, point, what);
  const run = async (what: string, args: string[], code: number) => {
    const started = Date.now();
    const result = await caRotator(cluster, args);
    outputs.push({ what, result });
    console.log(`${what}: exit ${result.code} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assertExit(result, code, what);
    return result;
  };
  try {
    await deployInClusterClients(cluster);
    const dir = await Deno.makeTempDir({ prefix: "ca-rotator-sa-key-" });
    const planPath = join(dir, "sa-key.yaml");
    const caFile = join(dir, "ca.crt");
    const root1 = cluster.nodeRoots[0];
    await Deno.copyFile(join(root1, PKI, "ca.crt"), caFile);
    const oldPub = await Deno.readTextFile(join(root1, PKI, "sa.pub"));
    const [oldKid] = await publicKeyIds(oldPub);
    const endpoints = cluster.nodes.map((node) => `https://${node.ip}:6443`);
    // A token of the old key, from the TokenRequest API, as a CI job would hold one.
    const oldToken = await teamAToken(cluster, "2h");
    assert.equal(jwtKeyId(oldToken), oldKid);
    // Legacy token Secrets: team-a's is re-issued by the gate, team-c's is only named.
    assert.equal(await createTokenSecret(cluster, "team-a", "reader-token"), oldKid);
    assert.equal(await createTokenSecret(cluster, "team-c", "reader-token"), oldKid);
    const writePlan = async (stopAfter: string) =>
      await Deno.writeTextFile(planPath, await saKeyPlan("sa-key", stopAfter, POSITIVE_STEPS));

    await t.step("the dry run shows the staged key masked and the whole procedure", async () => {
      await writePlan("finalize");
      const dry = await run("rotate --dry-run", ["rotate", "--plan", planPath, "--dry-run"], 0);
      const text = dry.stdout + dry.stderr;
      for (
        const id of ["distribute-sa-key", "sa-jwks-bundle", "sa-token-gate", "remove-old-sa-key"]
      ) {
        assert.match(text, new RegExp(id), `the dry run shows ${id}`);
      }
      assert.match(text, /sa-new\.key/);
      assert.match(text, /sa-bundle\.pub/);
      assert.doesNotMatch(text, /-----BEGIN (RSA )?PRIVATE KEY-----\n[A-Za-z0-9+/]{20}/);
      // Nothing was written: no staged key on any node.
      for (const root of cluster.nodeRoots) {
        await assert.rejects(() => Deno.stat(join(root, PKI, "sa-new.key")));
      }
    });

    // First the negative control, then its rollback (after its switch), on the cluster's own key:
    // kwok holds a token of that key in its kubeconfig (test/cluster/supervisor_kwok.ts), which
    // no gate can see and which the positive run's finalize ends (no pod starts after it).
    const negativePath = join(dir, "sa-key-negative.yaml");
    let nextKid = "";
    let nextToken = "";

    await t.step(
      "negative control: signing switches before any API server verifies the new key",
      async () => {
        await Deno.writeTextFile(
          negativePath,
          await saKeyPlan("sa-key-negative", "trust", NEGATIVE_STEPS),
        );
        await run("negative rotate (trust)", ["rotate", "--plan", negativePath], 0);
        [nextKid] = await publicKeyIds(await Deno.readTextFile(join(root1, PKI, "sa-new.pub")));
        // The JWKS check sees it: no API server lists the new key id.
        const checkPath = join(dir, "sa-key-check.yaml");
        await Deno.writeTextFile(
          checkPath,
          await saKeyPlan(
            "sa-key-check",
            "trust",
            "  - { id: sa-jwks-bundle, phase: trust, kind: verify-sa-jwks, expect: bundle, timeoutSeconds: 10 }\n",
          ),
        );
        const check = await caRotator(cluster, ["rotate", "--plan", checkPath]);
        outputs.push({ what: "jwks check", result: check });
        assert.notEqual(check.code, 0, "the JWKS check fails");
        for (const endpoint of endpoints) {
          assert.match(
            check.stderr,
            new RegExp(`${endpoint.replaceAll(".", "\\.")} lacks kid ${nextKid}`),
          );
        }

        await Deno.writeTextFile(
          negativePath,
          await saKeyPlan("sa-key-negative", "switch", NEGATIVE_STEPS),
        );
        await run("negative rotate (switch)", ["rotate", "--plan", negativePath], 0);
        nextToken = await teamAToken(cluster);
        assert.equal(jwtKeyId(nextToken), nextKid);
        const direct = await Promise.all(
          endpoints.map((endpoint) => tokenStatus(endpoint, nextToken, caFile)),
        );
        console.log(`negative control, a new-key token at each API server: ${direct.join(", ")}`);
        assert.deepEqual(direct, endpoints.map(() => "401"));
        let lb401 = 0;
        for (let i = 0; i < 30; i++) {
          if (await tokenStatus(cluster.endpoint, nextToken, caFile) === "401") lb401++;
        }
        console.log(`negative control, through haproxy: ${lb401} of 30 requests got 401`);
        assert.equal(lb401, 30, "every request through the load balancer gets 401");
        // A pod started now gets a new-key token, which no API server verifies: its client sees
        // 401s. A bare Pod, not a roll: the controller-manager's controllers use service-account
        // credentials, and those that took a new-key token get 401 too (run 6: the deployment
        // controller's Events refused, 'Unauthorized').
        const seen = await bareClient(
          cluster,
          NEGATIVE_POD,
          (pod) => pod.failures.unauthorized > 0,
        );
        console.log(`negative control, a pod started after the switch: ${describeClient(seen)}`);
      },
    );

    await t.step(
      "rollback after the switch: the original key alone signs and verifies again",
      async () => {
        const started = Date.now();
        const rolled = await run("rollback (negative)", ["rollback", "--plan", negativePath], 0);
        const text = rolled.stdout + rolled.stderr;
        for (const id of ["undo-switch-control-plane", "undo-trust-control-plane"]) {
          assert.match(text, new RegExp(id), `the rollback runs ${id}`);
        }
        for (const root of cluster.nodeRoots) {
          const flags = manifestFlags(await Deno.readTextFile(join(root, APISERVER_MANIFEST)));
          assert.equal(flags.get("--service-account-key-file"), "/etc/kubernetes/pki/sa.pub");
          assert.equal(
            flags.get("--service-account-signing-key-file"),
            "/etc/kubernetes/pki/sa.key",
          );
          for (const file of ["sa-new.key", "sa-new.pub", "sa-bundle.pub"]) {
            await assert.rejects(
              () => Deno.stat(join(root, PKI, file)),
              `${root}: ${file} removed by the rollback`,
            );
          }
          assert.deepEqual(
            await publicKeyIds(await Deno.readTextFile(join(root, PKI, "sa.pub"))),
            [oldKid],
          );
        }
        assert.deepEqual(await jwksKeyIds(cluster), [oldKid]);
        const current = await Promise.all(
          [...endpoints, cluster.endpoint].map((url) => tokenStatus(url, oldToken, caFile)),
        );
        const next = await Promise.all(
          [...endpoints, cluster.endpoint].map((url) => tokenStatus(url, nextToken, caFile)),
        );
        console.log(
          `after rollback, an original-key token at each API server and haproxy: ${current}`,
        );
        console.log(`after rollback, the rolled-back key's token there: ${next}`);
        const everywhere = (status: string) => [...endpoints, cluster.endpoint].map(() => status);
        assert.deepEqual(current, everywhere("200"), "the original key's token works");
        assert.deepEqual(next, everywhere("401"), "the rolled-back key is gone");
        const fresh = await teamAToken(cluster);
        assert.equal(jwtKeyId(fresh), oldKid, "tokens are signed by the original key again");
        // A pod started now gets an original-key token, and its client gets no 401.
        const after = await bareClient(cluster, AFTER_ROLLBACK_POD, (pod) => pod.successes >= 3);
        console.log(`after rollback, a pod started then: ${describeClient(after)}`);
        assert.equal(after.failures.unauthorized, 0, "no 401 for a pod started after the rollback");
        console.log(`rollback and the pod after it: ${seconds(started)} s`);
        // The controller-manager's own controllers (service-account credentials) work again: a
        // Deployment rolls (in the negative control it did not).
        const rollStarted = Date.now();
        await cluster.kubectl(["rollout", "restart", "deployment/api-client", "-n", "team-a"]);
        try {
          await cluster.kubectl([
            "rollout",
            "status",
            "deployment/api-client",
            "-n",
            "team-a",
            "--timeout=120s",
          ]);
        } catch (error) {
          await printControllerDiagnostics(cluster);
          throw error;
        }
        console.log(`after rollback, team-a's Deployment rolled in ${seconds(rollStarted)} s`);
      },
    );
    await deployLegacyTokenClient(cluster, "team-a", "reader-token", LEGACY_TOKEN_POD);
    // On a kubelet that syncs every 10 s, so that its recovery does not wait a minute.
    await deployLegacyTokenClient(cluster, "team-a", "reader-token", CUT_OFF_POD, {
      syncFrequencySeconds: CUT_OFF_SYNC_SECONDS,
    });
    const clientsAtStart = await clientStatuses(cluster);
    probe = startProbe(cluster.endpoint, cluster.kubeconfig);
    let newKid = "";

    await t.step("trust: every API server verifies both keys and publishes both ids", async () => {
      await writePlan("trust");
      // A crash once the new key is staged (SIGKILL), then a resume: it keeps that key.
      const killed = await killedRun("rotate (trust)", planPath, TRUST_KILL_POINT);
      const staged = await Deno.readTextFile(join(root1, PKI, "sa-new.key"));
      outputs.push({ what: "killed rotate (trust)", result: asRunResult(killed) });
      await run("rotate (trust, resumed)", ["rotate", "--plan", planPath], 0);
      assert.equal(
        await Deno.readTextFile(join(root1, PKI, "sa-new.key")),
        staged,
        "the resumed run kept the key the killed run staged",
      );
      const newPub = await Deno.readTextFile(join(root1, PKI, "sa-new.pub"));
      [newKid] = await publicKeyIds(newPub);
      for (const root of cluster.nodeRoots) {
        const key = await Deno.stat(join(root, PKI, "sa-new.key"));
        assert.equal(key.mode! & 0o777, 0o600, `${root}: sa-new.key is 0600`);
        const bundle = await Deno.readTextFile(join(root, PKI, "sa-bundle.pub"));
        assert.deepEqual(await publicKeyIds(bundle), [oldKid, newKid]);
        const flags = manifestFlags(await Deno.readTextFile(join(root, APISERVER_MANIFEST)));
        assert.equal(flags.get("--service-account-key-file"), "/etc/kubernetes/pki/sa-bundle.pub");
        assert.equal(flags.get("--service-account-signing-key-file"), "/etc/kubernetes/pki/sa.key");
      }
      assert.deepEqual(await jwksKeyIds(cluster), [oldKid, newKid].sort());
      const status = await run("status", ["status", "--plan", planPath], 0);
      assert.match(status.stdout + status.stderr, /sa-jwks-bundle/);
    });

    await t.step(
      "switch: the API servers and the controller-manager sign with the new key",
      async () => {
        await writePlan("switch");
        await run("rotate (switch)", ["rotate", "--plan", planPath], 0);
        const token = await teamAToken(cluster);
        assert.equal(jwtKeyId(token), newKid, "a new token is signed by the new key");
        for (const endpoint of endpoints) {
          assert.equal(await tokenStatus(endpoint, token, caFile), "200", `${endpoint}: new token`);
          assert.equal(await tokenStatus(endpoint, oldToken, caFile), "200", `${endpoint}: old`);
        }
        // Legacy token Secrets are not re-signed by themselves.
        assert.equal(await tokenSecretKeyId(cluster, "team-a", "reader-token"), oldKid);
      },
    );

    await t.step(
      "finalize: the gate names the legacy token Secrets it may not re-issue, and their readers",
      async () => {
        await writePlan("finalize");
        const held = await run("rotate (finalize, held)", ["rotate", "--plan", planPath], 3);
        const closed = held.stderr.split("\n").find((line) =>
          /\[sa-token-gate\] gate closed/.test(line)
        );
        console.log(closed);
        assert.match(closed ?? "", /team-c\/reader-token/, "outside reissueTokenSecrets");
        assert.match(
          closed ?? "",
          new RegExp(
            `team-a/reader-token \\(read by team-a/${CUT_OFF_POD}, team-a/${LEGACY_TOKEN_POD}\\)`,
          ),
          "read by running pods",
        );
        // Not re-issued under the pods that read it: its token still works for them.
        assert.equal(await tokenSecretKeyId(cluster, "team-a", "reader-token"), oldKid);
        // The owner of team-c's Secret re-creates it (here: deletes it); the owner of the first
        // pod moves it off the Secret (here: deletes it; its counts are kept).
        await cluster.kubectl(["delete", "secret", "reader-token", "-n", "team-c"]);
        await cluster.kubectl(["delete", "pod", LEGACY_TOKEN_POD, "-n", "team-a"]);
      },
    );

    await t.step("finalize: the old key is gone; its token gets 401", async () => {
      // A crash once sa.key/sa.pub are the new pair but the flags still name the staged files
      // (SIGKILL), then a resume that converges.
      // The negative control of the gate's hold: the plan now re-issues Secrets in use, so the
      // gate re-issues team-a's under the second pod (below: it gets 401 until its volume syncs).
      await Deno.writeTextFile(
        planPath,
        (await saKeyPlan("sa-key", "finalize", POSITIVE_STEPS)).replace(
          "reissueTokenSecrets: [team-a]",
          "reissueTokenSecrets: [team-a]\n    reissueSecretsInUse: true",
        ),
      );
      const killed = await killedRun("rotate (finalize)", planPath, FINALIZE_KILL_POINT);
      outputs.push({ what: "killed rotate (finalize)", result: asRunResult(killed) });
      assert.equal(await tokenSecretKeyId(cluster, "team-a", "reader-token"), newKid);
      await run("rotate (finalize, resumed)", ["rotate", "--plan", planPath], 0);
      assert.deepEqual(await jwksKeyIds(cluster), [newKid]);
      for (const endpoint of endpoints) {
        assert.equal(await tokenStatus(endpoint, oldToken, caFile), "401", `${endpoint}: old`);
      }
      assert.equal(await tokenStatus(cluster.endpoint, oldToken, caFile), "401");
      const newKey = await Deno.readTextFile(join(root1, PKI, "sa.key"));
      for (const root of cluster.nodeRoots) {
        assert.deepEqual(await publicKeyIds(await Deno.readTextFile(join(root, PKI, "sa.pub"))), [
          newKid,
        ]);
        assert.equal(await Deno.readTextFile(join(root, PKI, "sa.key")), newKey);
        for (const file of ["sa-new.key", "sa-new.pub", "sa-bundle.pub"]) {
          await assert.rejects(() => Deno.stat(join(root, PKI, file)), `${root}: ${file} removed`);
        }
        const flags = manifestFlags(await Deno.readTextFile(join(root, APISERVER_MANIFEST)));
        assert.equal(flags.get("--service-account-key-file"), "/etc/kubernetes/pki/sa.pub");
        assert.equal(flags.get("--service-account-signing-key-file"), "/etc/kubernetes/pki/sa.key");
        assert.equal(
          flags.get("--service-account-issuer"),
          "https://kubernetes.default.svc.cluster.local",
          "the issuer is unchanged",
        );
      }
      const scan = await findKeysInCluster(cluster, { "new sa.key": newKey });
      // The plans declare a front-proxy CA they never distribute (a plan must declare a CA), so
      // that CA's generated key stays in a plan's new-CA Secret: the positive plan's, and the
      // JWKS check's (its run failed; the negative plan's went with its rollback). Not the key
      // looked for here.
      const unused =
        /^secrets\/kube-system\/ca-rotator-sa-key(-check)?-new-ca @\d+: unmasked EC PRIVATE/;
      assert.deepEqual(
        scan.leaks.filter((leak) => !unused.test(leak)),
        [],
        `the new key in no Secret, ConfigMap or Event (${scan.objects} objects)`,
      );
      const needles = await keyNeedles("new sa.key", newKey);
      for (const { what, result } of outputs) {
        const leaks = findLeaks(what, result.stdout + result.stderr, needles);
        assert.deepEqual(leaks.map(describeLeak), [], `${what}: no key material in its output`);
      }
    });

    const counts = await probe.stop();
    probe = undefined;
    await t.step(
      "negative control: a token Secret re-issued under a pod that reads it cuts the pod off",
      async () => {
        const status = async () =>
          (await clientStatuses(cluster)).find((each) => each.pod === CUT_OFF_POD)!;
        const cut = await eventually(`${CUT_OFF_POD} gets a 401`, async () => {
          const now = await status();
          return now.failures.unauthorized > 0 ? now : undefined;
        }, 60_000);
        console.log(`re-issued under it: ${describeClient(cut)}`);
        // It recovers once its kubelet writes the new token into its volume (every 10 s and up
        // to half again) and client-go reads it (after a 401).
        const volume = podFiles(cluster.env.CLUSTER_STATE_DIR, "team-a", CUT_OFF_POD);
        await eventually(`${CUT_OFF_POD}'s volume holds the new token`, async () => {
          const token = (await readVolume(volume.serviceAccountDir)).token;
          return token !== undefined && jwtKeyId(token) === newKid;
        }, 120_000);
        const recovered = await eventually(`${CUT_OFF_POD} succeeds again`, async () => {
          const now = await status();
          return now.successes > cut.successes + 2 ? now : undefined;
        }, 60_000);
        console.log(`after the kubelet wrote the new token: ${describeClient(recovered)}`);
      },
    );

    await t.step("no request failed for want of a valid token during the rotation", async () => {
      // Every client but the negative control's pod (above).
      const clients = await clientTotals(cluster, clientsAtStart, [CUT_OFF_POD]);
      const legacy = clients.statuses.find((status) => status.pod === LEGACY_TOKEN_POD);
      assert.ok(legacy && legacy.successes > 0, `${LEGACY_TOKEN_POD} ran through the rotation`);
      console.log(`probe through haproxy: ${JSON.stringify(counts)}`);
      console.log(
        `in-cluster clients: ${clients.statuses.length} pods, ${clients.requests} requests, ` +
          `${clients.unauthorized} 401s; failures by kind ${JSON.stringify(clients.failures)}`,
      );
      for (const status of clients.statuses) console.log(`  ${describeClient(status)}`);
      assert.ok(counts.requests > 50, `the probe ran (${counts.requests} requests)`);
      assert.equal(counts.unauthorized, 0, `401s through haproxy (last: ${counts.lastFailure})`);
      assert.equal(counts.tlsFailures, 0, `TLS failures (last: ${counts.lastFailure})`);
      // Connections cut while an API server restarts (haproxy has not yet marked it down) are
      // availability, not the key: printed above, asserted as the CA rotation's e2e test does.
      assert.ok(clients.requests > 100, `the clients ran (${clients.requests} requests)`);
      assert.equal(clients.unauthorized, 0, "no in-cluster client got a 401");
      console.log(`the positive run ended ${seconds(began)} s after the start`);
      // kwok's kubeconfig token (8760 h, from the TokenRequest API, in no pod and no Secret) was
      // signed by the old key: no gate can see such a token, and finalize cut it off.
      const kwokLog = await Deno.readTextFile(join(cluster.env.CLUSTER_STATE_DIR, "kwok.log"));
      const kwok401 = kwokLog.split("\n").filter((line) => line.includes("Unauthorized")).length;
      console.log(`kwok (an old-key token in its kubeconfig): ${kwok401} Unauthorized log lines`);
    });

    console.log(`the whole test: ${((Date.now() - began) / 1000).toFixed(0)} s`);
  } finally {
    await probe?.stop();
    await cluster.stop();
  }
});
