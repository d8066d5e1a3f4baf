/**
 * `set-component-flags`: sets flags in a component's static-pod manifest on every control-plane
 * node, one node at a time; the kubelet restarts the component, and the next node waits until
 * it is healthy again. A resumed run first waits until the component is healthy on the nodes
 * already done (and every other node it leaves alone).
 * @module
 */
import { z } from "zod";
import { defineStepKind } from "../engine/step.ts";
import { manifestFlags, setManifestFlags } from "../formats/static_pod_manifest.ts";
import { applyManifestChanges, manifestChanges, type ManifestEdit } from "./static_pod_files.ts";
import { stepBase } from "../plan/step_format.ts";
import { componentField } from "../plan/component.ts";
import { flagName, healthTimeoutSeconds } from "./_step_fields.ts";
import { ifPresentSubset } from "../plan/rules.ts";
import { manifestPath } from "../plan/node_paths.ts";
import { restoreControlPlane } from "./restore_control_plane.ts";
import { restoreClusterTrust } from "./restore_cluster_trust.ts";
import { signingFlagsFor } from "./_controller_manager_signing.ts";

/**
 * `set-component-flags` parameters: flags to set in a component's static-pod manifest on every
 * control-plane node. The kubelet restarts a static pod whenever its manifest changes, so the
 * edit is itself a restart: it is applied one node at a time, waiting until the component is
 * healthy again (`healthTimeoutSeconds`) before the next node, never two API servers down at once.
 */
export const SetComponentFlagsStep = z.strictObject({
  ...stepBase,
  kind: z.literal("set-component-flags"),
  component: componentField,
  /** Flag → value, e.g. `"--client-ca-file": /etc/kubernetes/pki/ca-bundle.crt`. */
  flags: z.record(flagName, z.string()).refine(
    (flags) => Object.keys(flags).length > 0,
    "must set at least one flag",
  ),
  /** Flags (of `flags`) changed only where the manifest already sets them; never added. */
  ifPresent: z.array(flagName).default([]),
  /** Skip nodes where the component's manifest is absent (e.g. cloud-controller-manager). */
  optional: z.boolean().default(false),
  /** Tuning: how long to wait for the component to be healthy on each node. */
  healthTimeoutSeconds,
});

type Step = z.infer<typeof SetComponentFlagsStep>;

/**
 * The flags the step sets in a manifest that sets `present`: its flags, without those of
 * `ifPresent` the manifest lacks; for the controller-manager, a single signing pair becomes the
 * per-signer pairs the manifest uses (src/steps/_controller_manager_signing.ts).
 */
function flagsToSet(
  step: Step,
  present: ReadonlyMap<string, string>,
  where: string,
): Record<string, string> {
  const flags = Object.fromEntries(
    Object.entries(step.flags).filter(([flag]) =>
      !step.ifPresent.includes(flag) || present.has(flag)
    ),
  );
  return step.component === "kube-controller-manager"
    ? signingFlagsFor(present, flags, where)
    : flags;
}

/** The set-component-flags step kind. */
export const setComponentFlags = defineStepKind<Step, ManifestEdit[]>({
  kind: "set-component-flags",
  schema: SetComponentFlagsStep,
  undo: { by: [restoreControlPlane, restoreClusterTrust] },
  drift: {
    reapply:
      "its apply rewrites the manifest one node at a time and waits until the component is healthy again, as the first time (kubeadm upgrade rewrites manifest flags)",
  },
  tuning: ["healthTimeoutSeconds"],
  rules: (step) => ifPresentSubset(step.ifPresent, Object.keys(step.flags), "this step's flags"),

  async observe(ctx, step) {
    const path = manifestPath(ctx.layout, step.component);
    const edits: ManifestEdit[] = [];
    for (const node of ctx.controlPlane) {
      const current = await node.readFile(path);
      if (current === undefined) {
        if (step.optional) continue;
        throw new Error(`${node.name}: ${path} is missing`);
      }
      const where = `${node.name}:${path}`;
      const flags = flagsToSet(step, manifestFlags(current, where), where);
      edits.push({
        node: node.name,
        path,
        component: step.component,
        current,
        desired: setManifestFlags(current, flags, `${node.name}:${path}`),
        mode: 0o600,
      });
    }
    return edits;
  },

  diff: (edits) => manifestChanges(edits),

  async apply(ctx, step, changes) {
    await applyManifestChanges(ctx, ctx.controlPlane, changes, step.healthTimeoutSeconds);
  },

  async verify(ctx, step) {
    const path = manifestPath(ctx.layout, step.component);
    for (const node of ctx.controlPlane) {
      const current = await node.readFile(path);
      if (current === undefined) {
        if (step.optional) continue;
        throw new Error(`${node.name}: ${path} is missing`);
      }
      const where = `${node.name}:${path}`;
      const flags = manifestFlags(current, where);
      for (const [flag, value] of Object.entries(flagsToSet(step, flags, where))) {
        if (!flags.has(flag)) {
          throw new Error(`${node.name}: ${path} does not set ${flag} (want ${value})`);
        }
        if (flags.get(flag) !== value) {
          throw new Error(`${node.name}: ${path} has ${flag}=${flags.get(flag)}, not ${value}`);
        }
      }
    }
  },
});
