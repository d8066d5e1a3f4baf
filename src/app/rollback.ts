/**
 * One `rollback` run, wired as `rotate` is (src/app/rotation.ts): bad input refused before the
 * lock; the run lock; the rollback procedure derived from the plan and the progress record
 * (src/rollback/procedure.ts) run by the runner, with the same output and, in a dry run, the
 * same overlays; then the new-CA Secret dropped and the progress record marked rolled back, so
 * the next `rotate` starts from scratch with a new CA.
 * @module
 */
import { dirname } from "node:path";
import { runPlan } from "../engine/runner.ts";
import { StepRegistry } from "../engine/registry.ts";
import type { Change } from "../engine/change.ts";
import { memoryProgressStore } from "../engine/progress.ts";
import { KubeConfigSource } from "../kube/kubeconfig.ts";
import { ConfigMapProgressStore, progressConfigMapName } from "../state/progress_configmap.ts";
import { acquireRunLock } from "../state/run_lock.ts";
import { currentHolder, holderIdentity } from "../state/run_holder.ts";
import { configMapEventRecorder } from "../state/step_events.ts";
import { fanOut } from "../engine/events.ts";
import { loadGivenCas, loadNewCaMaterial, newCaSecretName } from "../state/new_ca_secret.ts";
import { SshConnections } from "../nodes/ssh_connections.ts";
import { OverlayNode } from "../engine/overlay_node.ts";
import type { NodeAccess } from "../engine/node_access.ts";
import { contactServer } from "../kube/server_contact.ts";
import { connectPlanNodes, runClusterApis } from "./run_setup.ts";
import { rollbackProcedure } from "../rollback/procedure.ts";
import { ROLLBACK_KINDS } from "../rollback/kinds.ts";
import type { RotationOptions, RotationResult } from "./rotation.ts";

/** Rolls the rotation back (or, dry, shows what that would change). */
export async function rollBack(options: RotationOptions): Promise<RotationResult> {
  const { loaded, dryRun, printer } = options;
  const plan = loaded.plan;
  const name = plan.metadata.name;
  const source = new KubeConfigSource(options);
  const { live, cluster } = runClusterApis(source, dryRun);
  const holder = currentHolder();
  const connections = new SshConnections();
  const given = await loadGivenCas(plan, dirname(loaded.path));
  await contactServer(source.current(), options);
  const store = new ConfigMapProgressStore(live, name);
  const progress = await store.load();
  const until = progress?.rollback?.startedAt ? new Date(progress.rollback.startedAt) : new Date();
  // Nothing to roll back, or the finalize phase begun: refused before the lock (exit 2).
  const procedure = rollbackProcedure(plan, progress, until);
  const { controlPlane, workers } = await connectPlanNodes(plan, connections);
  const lock = dryRun ? undefined : await acquireRunLock(live, {
    planName: name,
    holder,
    onTakeover: (previous, why) =>
      printer.warn(`took the rotation lock over from ${previous}: ${why}`),
  });
  try {
    // The Secret is read, never written: a missing one would be generated in memory only.
    const material = await loadNewCaMaterial(live, plan, dirname(loaded.path), {
      dryRun: true,
      given,
    });
    for (const [ca, recorded] of Object.entries(progress!.caFingerprints)) {
      if (material.cas.fingerprints()[ca] !== recorded) {
        throw new Error(
          `Cannot roll back: the new ${ca} CA of this rotation (sha256 ${
            recorded.slice(0, 16)
          }…) ` +
            `is not in Secret kube-system/${newCaSecretName(name)} any more`,
        );
      }
    }
    if (plan.cas.cluster) source.trust(material.cas.get("cluster").certPem);
    for (const warning of procedure.warnings) printer.warn(warning);
    printer.info(
      `${dryRun ? "planning the rollback of" : "rolling back"} "${loaded.path}" (${name}): ` +
        `undoing ${procedure.undoes.join(", ")}`,
    );
    if (!dryRun && !progress!.rollback) {
      // From here on node writes are the rollback's own: what it restores is what came before.
      progress!.rollback = { startedAt: until.toISOString(), undid: [...procedure.undoes] };
      progress!.updatedAt = new Date().toISOString();
      await store.save(progress!);
    }
    const wrap = (node: NodeAccess): NodeAccess => dryRun ? new OverlayNode(node) : node;
    const stops = [options.signal, lock?.signal].filter((each) => each !== undefined);
    const result = await runPlan({
      loaded: {
        path: loaded.path,
        plan: { ...plan, stopAfter: "finalize", steps: [...procedure.steps] },
        digest: loaded.digest,
        stepDigests: Object.fromEntries(procedure.steps.map((step) => [step.id, "rollback"])),
      },
      registry: new StepRegistry(ROLLBACK_KINDS),
      // Not recorded step by step: a rollback run again recomputes every step from the backups.
      store: memoryProgressStore(),
      printer,
      signal: stops.length ? AbortSignal.any(stops) : undefined,
      events: dryRun ? options.events : fanOut(
        options.events,
        configMapEventRecorder(live, name, holderIdentity(holder), printer),
      ),
      context: {
        dryRun,
        layout: plan.layout,
        apiServers: plan.apiServers,
        workloads: plan.workloads,
        planDir: dirname(loaded.path),
        controlPlane: controlPlane.map(wrap),
        workers: workers.map(wrap),
        cluster,
        cas: material.cas,
      },
    });
    const secret = {
      apiVersion: "v1",
      kind: "Secret",
      namespace: "kube-system",
      name: newCaSecretName(name),
    };
    const closing: Change[] = [
      {
        action: "delete",
        target: { type: "object", ...secret },
        before: "(new CA material)\n",
        sensitive: true,
        reason: "the next rotation starts from scratch with a new CA",
      },
      {
        action: "update",
        target: {
          type: "object",
          apiVersion: "v1",
          kind: "ConfigMap",
          namespace: "kube-system",
          name: progressConfigMapName(name),
        },
        reason: "the progress record says the rotation was rolled back",
      },
    ];
    if (!dryRun) {
      await live.delete(secret);
      const rolledBack = (await store.load())!;
      rolledBack.rollback = {
        ...(rolledBack.rollback ??
          { startedAt: until.toISOString(), undid: [...procedure.undoes] }),
        finishedAt: new Date().toISOString(),
      };
      rolledBack.steps = {};
      rolledBack.caFingerprints = {};
      rolledBack.updatedAt = new Date().toISOString();
      await store.save(rolledBack);
      printer.info(
        "rolled back: the cluster trusts the old CA only; the next rotate starts from scratch",
      );
    }
    return { ...result, next: undefined, setupChanges: closing };
  } finally {
    await connections.close();
    await lock?.release().catch((error) =>
      printer.warn(
        `Cannot release the run lock: ${error instanceof Error ? error.message : error} ` +
          "(it expires by itself)",
      )
    );
  }
}
