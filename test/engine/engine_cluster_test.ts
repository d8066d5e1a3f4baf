/**
 * The cluster-facing parts of the engine on a real API server: the progress ConfigMap and its
 * resourceVersion guard, the run lock, the dry-run overlay with server-side dry run, and
 * kubeconfig resolution with an exec-plugin credential.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { eventually, startCluster } from "../cluster/harness.ts";
import { apiStatus, type KubeObject } from "../../src/engine/cluster_api.ts";
import { KubeClusterApi } from "../../src/kube/kube_cluster_api.ts";
import { loadKubeConfig } from "../../src/kube/kubeconfig.ts";
import { kubeconfigClientCert } from "../../src/formats/kubeconfig_file.ts";
import { ConfigMapProgressStore } from "../../src/state/progress_configmap.ts";
import {
  acquireRunLock,
  breakRunLock,
  type HeldLock,
  LockHeldError,
} from "../../src/state/run_lock.ts";
import { hostname } from "node:os";
import { OverlayClusterApi } from "../../src/engine/overlay_cluster.ts";
import type { Progress } from "../../src/engine/progress.ts";
import { loadPlan } from "../../src/app/plan.ts";
import { rotate } from "../../src/app/rotation.ts";
import { rollBack } from "../../src/app/rollback.ts";
import { targetName } from "../../src/engine/change.ts";
import { nodeFiles } from "../rotation/fixtures.ts";
import { memoryPrinter } from "../../src/engine/printer.ts";
import { PlanError } from "../../src/plan/load.ts";
import { InputError } from "../../src/plan/input_error.ts";
import type { EventSink } from "../../src/engine/events.ts";
import { STEP_KINDS } from "../../src/steps/kinds.ts";
import { writeNote } from "./_write_note_kind.ts";

const progress = (step: string): Progress => ({
  plan: "engine-test",
  planDigest: "sha256:plan",
  caFingerprints: { cluster: "ab".repeat(32) },
  stopAfter: "trust",
  steps: { [step]: { status: "done", attempts: 1, digest: "sha256:step" } },
});

Deno.test({
  name: "the engine's cluster-facing parts on a real API server",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const cluster = await startCluster({ apiServers: 1, nodes: 1 });
  try {
    const api = new KubeClusterApi(loadKubeConfig({ kubeconfig: cluster.kubeconfig }));
    const readLease = (name: string) =>
      api.read<KubeObject & { spec: { holderIdentity?: string } }>({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        namespace: "kube-system",
        name,
      });

    await t.step("progress is kept in a ConfigMap; a stale write is refused", async () => {
      const store = new ConfigMapProgressStore(api, "engine-test");
      assert.equal(await store.load(), undefined);
      await store.save(progress("distribute"));
      const other = new ConfigMapProgressStore(api, "engine-test");
      assert.deepEqual((await other.load())?.steps, progress("distribute").steps);
      await store.save(progress("flags"));
      await assert.rejects(
        () => other.save(progress("lost-update")),
        (error) => apiStatus(error) === 409,
        "a write based on an old resourceVersion is a conflict",
      );
      const configMap = await api.read<KubeObject & { data: Record<string, string> }>({
        apiVersion: "v1",
        kind: "ConfigMap",
        namespace: "kube-system",
        name: "ca-rotator-engine-test",
      });
      assert.deepEqual(Object.keys(JSON.parse(configMap!.data.steps)), ["flags"]);
      assert.doesNotMatch(JSON.stringify(configMap), /PRIVATE KEY/);
    });

    await t.step(
      "one run at a time: a second run is told who holds it and until when",
      async () => {
        const first = await acquireRunLock(api, {
          planName: "engine-test",
          holder: { host: "ci-runner", pid: 1, runUrl: "https://ci.example/runs/7" },
        });
        await assert.rejects(
          () =>
            acquireRunLock(api, { planName: "engine-test", holder: { host: "laptop", pid: 2 } }),
          (error) =>
            error instanceof LockHeldError &&
            /ci-runner\/1 https:\/\/ci.example\/runs\/7, renewed \d+ s ago; it expires in \d+ s/
              .test(error.message) &&
            /unlock/.test(error.message),
        );
        await first.release();
        const second = await acquireRunLock(api, {
          planName: "engine-test",
          holder: { host: "laptop", pid: 2 },
        });
        await second.release();
      },
    );

    await t.step("five runs started together: exactly one takes the lock", async () => {
      const outcomes = await Promise.allSettled(
        [1, 2, 3, 4, 5].map((pid) =>
          acquireRunLock(api, { planName: "engine-race", holder: { host: "racer", pid } })
        ),
      );
      const held = outcomes.filter((outcome) => outcome.status === "fulfilled");
      const refused = outcomes.filter((outcome) =>
        outcome.status === "rejected" && outcome.reason instanceof LockHeldError
      );
      assert.equal(held.length, 1, JSON.stringify(outcomes.map((outcome) => outcome.status)));
      assert.equal(refused.length, 4);
      await (held[0] as PromiseFulfilledResult<HeldLock>).value.release();
    });

    await t.step("an expired holder is taken over", async () => {
      const minuteAgo = new Date(Date.now() - 60_000).toISOString().replace("Z", "000Z");
      await api.create({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "ca-rotator-engine-test-expiry", namespace: "kube-system" },
        spec: {
          holderIdentity: "crashed/1",
          leaseDurationSeconds: 15,
          acquireTime: minuteAgo,
          renewTime: minuteAgo,
        },
      });
      const taken: string[] = [];
      const taker = await acquireRunLock(api, {
        planName: "engine-test-expiry",
        holder: { host: "next", pid: 2 },
        onTakeover: (previous, why) => taken.push(`${previous}: ${why}`),
      });
      assert.equal(
        (await readLease("ca-rotator-engine-test-expiry"))?.spec.holderIdentity,
        "next/2",
      );
      assert.deepEqual(taken, ["crashed/1: its lease expired"]);
      await taker.release();
    });

    await t.step("a holder on this host whose process is gone is taken over at once", async () => {
      const exited = new Deno.Command("true").spawn();
      await exited.status;
      const dead = await acquireRunLock(api, {
        planName: "engine-test-dead",
        holder: { host: hostname(), pid: exited.pid },
      });
      void dead; // never released: its process "crashed"
      const taken: string[] = [];
      const taker = await acquireRunLock(api, {
        planName: "engine-test-dead",
        onTakeover: (previous, why) => taken.push(`${previous}: ${why}`),
      });
      assert.deepEqual(taken, [
        `${hostname()}/${exited.pid}: process ${exited.pid} is gone from this host`,
      ]);
      // A live holder on this host (this very process) is not taken over.
      await assert.rejects(
        () =>
          acquireRunLock(api, {
            planName: "engine-test-dead",
            holder: { host: hostname(), pid: exited.pid },
          }),
        LockHeldError,
      );
      await taker.release();
      await dead.release();
    });

    await t.step("a holder that loses the lock is told at once, and unlock frees it", async () => {
      const holder = await acquireRunLock(api, {
        planName: "engine-test-lost",
        holder: { host: "slow", pid: 3 },
        leaseSeconds: 3,
      });
      assert.equal(await breakRunLock(api, "engine-test-lost"), "slow/3");
      const other = await acquireRunLock(api, {
        planName: "engine-test-lost",
        holder: { host: "fast", pid: 4 },
      });
      await eventually("the holder is told", () => Promise.resolve(holder.signal.aborted), 10_000);
      assert.match(
        String(holder.signal.reason),
        /lost the rotation lock .*(another run took it over|someone released it)/,
      );
      await other.release();
      assert.equal(await breakRunLock(api, "engine-test-lost"), undefined, "nobody holds it");
      await holder.release();
    });

    await t.step(
      "the dry-run overlay checks writes on the server and persists nothing",
      async () => {
        const dryRun = new OverlayClusterApi(
          api,
          new KubeClusterApi(api.kubeConfig, { serverDryRun: true }),
        );
        const ref = {
          apiVersion: "v1",
          kind: "ConfigMap",
          namespace: "default",
          name: "overlay-test",
        };
        await dryRun.create({
          ...ref,
          metadata: { name: ref.name, namespace: ref.namespace },
          data: { a: "1" },
        });
        assert.ok(await dryRun.read(ref), "the overlay sees its own write");
        assert.equal(await api.read(ref), undefined, "the cluster does not");
        const listed = await dryRun.list("v1", "ConfigMap", { namespace: "default" });
        assert.ok(listed.some((item) => item.metadata?.name === "overlay-test"));
        await assert.rejects(
          () =>
            dryRun.create({
              apiVersion: "v1",
              kind: "ConfigMap",
              metadata: { name: "Not_A_Valid_Name", namespace: "default" },
            }),
          (error) => apiStatus(error) === 422,
          "the server validates dry-run writes",
        );
      },
    );

    await t.step("a new step kind is one file and one list entry", async () => {
      const kinds = [...STEP_KINDS, writeNote]; // the one list entry
      const dir = await Deno.makeTempDir({ prefix: "ca-rotator-new-kind-" });
      try {
        const planPath = join(dir, "note.yaml");
        await Deno.writeTextFile(
          planPath,
          localPlan(
            "new-kind",
            cluster.nodeRoots,
            cluster.nodes.map((n) => n.ip),
            `  - id: leave-note
    phase: trust
    kind: write-note
    file: rotation-note.txt
    text: rotated by a kind the engine never saw
`,
            cluster.workerRoots,
          ),
        );
        await assert.rejects(
          () => loadPlan(planPath, {}),
          (error) =>
            error instanceof PlanError && /unknown step kind "write-note"/.test(error.message),
          "without the list entry the plan format does not know the kind",
        );
        const loaded = await loadPlan(planPath, {}, kinds);
        assert.equal(loaded.plan.steps[0].kind, "write-note");

        const notePath = join(cluster.nodeRoots[0], "etc/kubernetes/rotation-note.txt");
        const printer = memoryPrinter();
        const planned = await rotate({
          kubeconfig: cluster.kubeconfig,
          loaded,
          kinds,
          dryRun: true,
          printer,
        });
        const change = planned.steps.find((step) => step.kind === "write-note")?.changes[0];
        assert.equal(change?.action, "create");
        assert.equal(
          change?.target.type === "file" && change.target.path,
          "/etc/kubernetes/rotation-note.txt",
        );
        assert.equal(await exists(notePath), false, "the dry run wrote nothing");

        const result = await rotate({
          kubeconfig: cluster.kubeconfig,
          loaded,
          kinds,
          dryRun: false,
          printer,
        });
        assert.equal(result.outcome, "done");
        assert.equal(await Deno.readTextFile(notePath), "rotated by a kind the engine never saw\n");
        const recorded = await new ConfigMapProgressStore(api, "new-kind").load();
        assert.equal(recorded?.steps["leave-note"]?.status, "done");

        // Its rollback comes from its undo declaration: the note goes, no other file changes.
        const before = await nodeFiles(cluster.nodeRoots);
        const dryRollback = await rollBack({
          kubeconfig: cluster.kubeconfig,
          loaded,
          kinds,
          dryRun: true,
          printer,
        });
        assert.deepEqual(
          dryRollback.steps.map((step) =>
            `${step.stepId}: ${
              step.changes.map((change) => `${change.action} ${targetName(change.target)}`)
                .join(", ")
            }`
          ),
          [
            "begin-rollback: update ConfigMap/kube-system/ca-rotator-new-kind",
            `undo-trust-node-files: delete ${
              cluster.nodes[0].name
            }:/etc/kubernetes/rotation-note.txt`,
            "finish-rollback: delete Secret/kube-system/ca-rotator-new-kind-new-ca, " +
            "update ConfigMap/kube-system/ca-rotator-new-kind",
          ],
        );
        assert.deepEqual(await nodeFiles(cluster.nodeRoots), before, "the dry run wrote nothing");
        const rolledBack = await rollBack({
          kubeconfig: cluster.kubeconfig,
          loaded,
          kinds,
          dryRun: false,
          printer,
        });
        assert.equal(rolledBack.outcome, "done");
        const after = await nodeFiles(cluster.nodeRoots);
        before.delete(notePath);
        assert.deepEqual(after, before, "the note is gone and no other node file changed");
        const closed = await new ConfigMapProgressStore(api, "new-kind").load();
        assert.ok(closed?.rollback?.finishedAt, "the record says the rotation was rolled back");
        assert.equal(
          await api.read({
            apiVersion: "v1",
            kind: "Secret",
            namespace: "kube-system",
            name: "ca-rotator-new-kind-new-ca",
          }),
          undefined,
          "the new-CA Secret is gone",
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });

    await t.step("update-ca-bundles: named APIServices and webhooks get the bundle", async () => {
      const oldCa = await Deno.readTextFile(
        join(cluster.nodeRoots[0], "etc/kubernetes/pki/ca.crt"),
      );
      const apiService = (name: string, group: string) => ({
        apiVersion: "apiregistration.k8s.io/v1",
        kind: "APIService",
        metadata: { name },
        spec: {
          group,
          version: "v1alpha1",
          groupPriorityMinimum: 100,
          versionPriority: 10,
          service: { namespace: "default", name: "not-there" },
          caBundle: btoa(oldCa),
        },
      });
      await api.create(apiService("v1alpha1.named.example.com", "named.example.com"));
      await api.create(apiService("v1alpha1.other.example.com", "other.example.com"));
      await api.create({
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingWebhookConfiguration",
        metadata: { name: "policy" },
        webhooks: [{
          name: "policy.example.com",
          clientConfig: {
            service: { namespace: "default", name: "not-there" },
            caBundle: btoa(oldCa),
          },
          rules: [{
            apiGroups: ["example.com"],
            apiVersions: ["v1"],
            operations: ["CREATE"],
            resources: ["widgets"],
          }],
          failurePolicy: "Ignore",
          sideEffects: "None",
          admissionReviewVersions: ["v1"],
        }],
      });
      const dir = await Deno.makeTempDir({ prefix: "ca-rotator-ca-bundles-" });
      try {
        const planPath = join(dir, "bundles.yaml");
        await Deno.writeTextFile(
          planPath,
          localPlan(
            "ca-bundles",
            cluster.nodeRoots,
            cluster.nodes.map((n) => n.ip),
            `  - id: gate
    phase: trust
    kind: verify-pod-trust
    accept: [{ namespace: "*" }]
  - id: bundles-trust
    phase: trust
    kind: update-ca-bundles
    objects: [APIService/v1alpha1.named.example.com, ValidatingWebhookConfiguration/policy]
    caData: bundle
`,
            cluster.workerRoots,
          ),
        );
        const loaded = await loadPlan(planPath, {});
        const printer = memoryPrinter();
        const planned = await rotate({
          kubeconfig: cluster.kubeconfig,
          loaded,
          dryRun: true,
          printer,
        });
        const changed = planned.steps.find((step) => step.stepId === "bundles-trust")?.changes
          .map((change) =>
            change.target.type === "object" && `${change.target.kind}/${change.target.name}`
          );
        assert.deepEqual(changed, [
          "APIService/v1alpha1.named.example.com",
          "ValidatingWebhookConfiguration/policy",
        ]);
        const caBundleOf = async (name: string) =>
          atob(
            (await api.read<KubeObject & { spec: { caBundle: string } }>({
              apiVersion: "apiregistration.k8s.io/v1",
              kind: "APIService",
              name,
            }))!.spec.caBundle,
          );
        assert.equal(
          await caBundleOf("v1alpha1.named.example.com"),
          oldCa,
          "the dry run changed nothing",
        );
        assert.match(
          printer.lines.join("\n"),
          /3 APIServices\/webhooks hold the old cluster CA .*APIService\/v1alpha1\.named\.example\.com, APIService\/v1alpha1\.other\.example\.com, ValidatingWebhookConfiguration\/policy \(webhook policy\.example\.com\)/,
          "the pod-trust gate lists the objects that hold the old CA",
        );

        const result = await rotate({
          kubeconfig: cluster.kubeconfig,
          loaded,
          dryRun: false,
          printer,
        });
        assert.equal(result.outcome, "done");
        const named = await caBundleOf("v1alpha1.named.example.com");
        assert.ok(named.includes(oldCa.trim()), "the bundle keeps the old CA");
        assert.equal((named.match(/BEGIN CERTIFICATE/g) ?? []).length, 2, "and adds the new one");
        assert.equal(await caBundleOf("v1alpha1.other.example.com"), oldCa, "unnamed: untouched");
        const webhook = await api.read<
          KubeObject & { webhooks: { clientConfig: { caBundle: string } }[] }
        >({
          apiVersion: "admissionregistration.k8s.io/v1",
          kind: "ValidatingWebhookConfiguration",
          name: "policy",
        });
        assert.equal(atob(webhook!.webhooks[0].clientConfig.caBundle), named);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });

    await t.step(
      "every Node is the plan's: one left out is refused, one excluded is not, one that joins holds the next phase",
      async () => {
        const kinds = [...STEP_KINDS, writeNote];
        const dir = await Deno.makeTempDir({ prefix: "ca-rotator-coverage-" });
        const worker = cluster.workers[0].name;
        const steps = `  - id: coverage-note
    phase: trust
    kind: write-note
    file: coverage-note.txt
    text: every Node is covered
  - id: coverage-gate
    phase: switch
    kind: verify-pod-trust
    accept: [{ namespace: "*" }]
`;
        const notePath = join(cluster.nodeRoots[0], "etc/kubernetes/coverage-note.txt");
        const planWith = async (workerRoots: string[], extra = "", stopAfter = "trust") => {
          const path = join(dir, "coverage.yaml");
          const text = localPlan(
            "coverage",
            cluster.nodeRoots,
            cluster.nodes.map((n) => n.ip),
            steps,
            workerRoots,
          ).replace("stopAfter: trust", `stopAfter: ${stopAfter}`)
            .replace("\ncas:", `${extra}\ncas:`);
          await Deno.writeTextFile(path, text);
          return await loadPlan(path, {}, kinds);
        };
        const run = (loaded: Awaited<ReturnType<typeof loadPlan>>, events?: EventSink) =>
          rotate({
            kubeconfig: cluster.kubeconfig,
            loaded,
            kinds,
            dryRun: false,
            printer: memoryPrinter(),
            events,
          });
        const joined = { apiVersion: "v1", kind: "Node", name: "joined-1" } as const;
        try {
          // Left out: bad input before anything is written, the worker named with its address.
          const before = await nodeFiles([...cluster.nodeRoots, ...cluster.workerRoots]);
          const leftOut = await run(await planWith([])).then(() => undefined, (error) => error);
          assert.ok(leftOut instanceof InputError, `refused as bad input: ${leftOut}`);
          assert.match(
            leftOut.message,
            new RegExp(
              `does not cover every Node \\(nothing was changed\\): the cluster has a Node the ` +
                `plan does not cover: ${worker} — add it to nodes.workers`,
            ),
          );
          assert.deepEqual(
            await nodeFiles([...cluster.nodeRoots, ...cluster.workerRoots]),
            before,
            "no node file changed",
          );
          assert.equal(await new ConfigMapProgressStore(api, "coverage").load(), undefined);

          // Excluded by name, with the reason: the run proceeds.
          const exclusion = `\n  exclude:\n    - { name: ${worker}, reason: "rotated by hand" }`;
          const excluded = await run(await planWith([], exclusion));
          assert.equal(excluded.outcome, "done");
          assert.equal(await Deno.readTextFile(notePath), "every Node is covered\n");

          // A Node that joins during the trust phase holds the run before the switch, named.
          const joining: EventSink = {
            async emit(event) {
              if (event.type === "StepDone" && event.step === "coverage-note") {
                await api.create({
                  apiVersion: "v1",
                  kind: "Node",
                  metadata: { name: "joined-1" },
                });
              }
            },
          };
          await Deno.remove(notePath);
          await api.delete({
            apiVersion: "v1",
            kind: "ConfigMap",
            namespace: "kube-system",
            name: "ca-rotator-coverage",
          });
          const held = await run(await planWith([], exclusion, "switch"), joining);
          assert.equal(held.outcome, "gate");
          assert.equal(held.gateStep, "coverage-gate");
          assert.match(held.gate ?? "", /holding before phase "switch": .*cover: joined-1/);
          const record = await new ConfigMapProgressStore(api, "coverage").load();
          assert.equal(record?.steps["coverage-note"]?.status, "done");
          assert.equal(record?.steps["coverage-gate"], undefined, "nothing of the switch ran");
        } finally {
          await api.delete(joined).catch(() => {});
          await Deno.remove(dir, { recursive: true });
        }
      },
    );

    await t.step("kubeconfig resolution runs an exec-plugin credential", async () => {
      const admin = await Deno.readTextFile(cluster.kubeconfig);
      const client = kubeconfigClientCert(admin);
      const dir = await Deno.makeTempDir({ prefix: "ca-rotator-exec-" });
      try {
        const credential = {
          apiVersion: "client.authentication.k8s.io/v1",
          kind: "ExecCredential",
          status: { clientCertificateData: client.certPem, clientKeyData: client.keyPem },
        };
        await Deno.writeTextFile(join(dir, "credential.json"), JSON.stringify(credential));
        const withExec = admin.replace(
          /^users:[\s\S]*$/m,
          [
            "users:",
            "- name: exec-user",
            "  user:",
            "    exec:",
            "      apiVersion: client.authentication.k8s.io/v1",
            "      command: cat",
            `      args: ["${join(dir, "credential.json")}"]`,
            "      interactiveMode: Never",
          ].join("\n") + "\n",
        ).replace(/user: kubernetes-admin$/m, "user: exec-user");
        await Deno.writeTextFile(join(dir, "kubeconfig"), withExec);
        const viaExec = new KubeClusterApi(loadKubeConfig({ kubeconfig: join(dir, "kubeconfig") }));
        const namespaces = await viaExec.list("v1", "Namespace");
        assert.ok(namespaces.some((ns) => ns.metadata?.name === "kube-system"));
        assert.throws(
          () => loadKubeConfig({ kubeconfig: join(dir, "kubeconfig"), context: "nope" }),
          /kubeconfig ".*" has no context "nope"/,
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  } finally {
    await cluster.stop();
  }
});

/** A plan over the test cluster's control-plane node roots with the given steps (YAML). */
/** A plan of `steps` over the control-plane roots (with their addresses) and the worker roots. */
function localPlan(
  name: string,
  roots: string[],
  addresses: string[],
  steps: string,
  workerRoots: string[] = [],
): string {
  return `apiVersion: ca-rotator.dev/v1
kind: RotationPlan
metadata: { name: ${name} }
stopAfter: trust
layout: { preset: kubeadm }
nodes:
  controlPlane: { driver: local, roots: ${JSON.stringify(roots)}, addresses: ${
    JSON.stringify(addresses)
  } }
  workers: { driver: local, roots: ${JSON.stringify(workerRoots)} }
cas:
  cluster: { source: generate, algorithm: ecdsa-p256 }
steps:
${steps}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
