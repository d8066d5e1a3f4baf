/**
 * `set-component-flags`: sets flags in a component's static-pod manifest on every control-plane
 * node, one node at a time; the kubelet restarts the component, and the next node waits until
 * it is healthy again.
 * @module
 */
import type { StepKind } from "../engine/step.ts";
import type { StepOfKind } from "../plan/schema.ts";
import { manifestFlags, setManifestFlags } from "../formats/static_pod_manifest.ts";
import {
  applyManifestChanges,
  manifestChanges,
  type ManifestEdit,
  manifestPath,
} from "./static_pod_files.ts";

type Step = StepOfKind<"set-component-flags">;

/** The set-component-flags step kind. */
export const setComponentFlags: StepKind<Step, ManifestEdit[]> = {
  kind: "set-component-flags",

  async observe(ctx, step) {
    const path = manifestPath(ctx, step.component);
    const edits: ManifestEdit[] = [];
    for (const node of ctx.controlPlane) {
      const current = await node.readFile(path);
      if (current === undefined) {
        if (step.optional) continue;
        throw new Error(`${node.name}: ${path} is missing`);
      }
      const present = manifestFlags(current, `${node.name}:${path}`);
      const flags = Object.fromEntries(
        Object.entries(step.flags).filter(([flag]) =>
          !step.ifPresent.includes(flag) || present.has(flag)
        ),
      );
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
    const path = manifestPath(ctx, step.component);
    for (const node of ctx.controlPlane) {
      const current = await node.readFile(path);
      if (current === undefined) continue;
      const flags = manifestFlags(current, `${node.name}:${path}`);
      for (const [flag, value] of Object.entries(step.flags)) {
        if (flags.has(flag) && flags.get(flag) !== value) {
          throw new Error(`${node.name}: ${path} has ${flag}=${flags.get(flag)}, not ${value}`);
        }
      }
    }
  },
};
