/**
 * `wait-root-ca-configmaps`: waits until the `kube-root-ca.crt` ConfigMap of every namespace
 * holds exactly the expected CAs (the controller-manager publishes its `--root-ca-file` there
 * after it restarts). It changes nothing itself.
 * @module
 */
import { z } from "zod";
import { defineStepKind } from "../engine/step.ts";
import {
  describeRootCaProblems,
  ROOT_CA_CONFIGMAP,
  type RootCaStatus,
  rootCaStatus,
  trustSetName,
} from "./_root_ca_configmaps.ts";
import { stepBase } from "../plan/step_format.ts";
import { positiveInt } from "../plan/fields.ts";
import { trustSetField } from "./_step_fields.ts";

/**
 * `wait-root-ca-configmaps` parameters: wait until every namespace's `kube-root-ca.crt` holds
 * exactly these CAs (the controller-manager publishes its `--root-ca-file`).
 */
export const WaitRootCaConfigMapsStep = z.strictObject({
  ...stepBase,
  kind: z.literal("wait-root-ca-configmaps"),
  expect: trustSetField,
  /** Tuning. */
  timeoutSeconds: positiveInt.default(300),
});

type Step = z.infer<typeof WaitRootCaConfigMapsStep>;

/** The wait-root-ca-configmaps step kind. */
export const waitRootCaConfigMaps = defineStepKind<Step, RootCaStatus | undefined>({
  kind: "wait-root-ca-configmaps",
  schema: WaitRootCaConfigMapsStep,
  undo: { nothing: "it only waits" },
  drift: { none: "it only waits" },
  tuning: ["timeoutSeconds"],
  trustSetField: "expect",
  cas: () => ["cluster"],

  async observe(ctx, step) {
    if (ctx.dryRun) return undefined;
    const status = await rootCaStatus(ctx, step.expect);
    ctx.log.info(
      `${status.namespaces - status.wrong.length} of ${status.namespaces} namespaces' ` +
        `${ROOT_CA_CONFIGMAP} hold ${trustSetName(step.expect)}`,
    );
    return status;
  },

  diff: () => [],

  apply: () => Promise.resolve(),

  async verify(ctx, step) {
    let last: RootCaStatus | undefined;
    const description = `every namespace's ${ROOT_CA_CONFIGMAP} to hold ${
      trustSetName(step.expect)
    }`;
    try {
      await ctx.waitFor(description, async () => {
        last = await rootCaStatus(ctx, step.expect);
        return {
          done: last.wrong.length === 0,
          ready: last.namespaces - last.wrong.length,
          total: last.namespaces,
        };
      }, step.timeoutSeconds * 1000);
    } catch (error) {
      if (!last || last.wrong.length === 0) throw error;
      throw new Error(
        `after ${step.timeoutSeconds}s, ${last.wrong.length} of ${last.namespaces} namespaces' ` +
          `${ROOT_CA_CONFIGMAP} do not hold ${trustSetName(step.expect)}: ` +
          `${describeRootCaProblems(last.wrong)} (is kube-controller-manager running with the ` +
          `right --root-ca-file?)`,
      );
    }
    ctx.log.info(`every namespace's ${ROOT_CA_CONFIGMAP} holds ${trustSetName(step.expect)}`);
  },
});
