/**
 * `wait-root-ca-configmaps`: waits until the `kube-root-ca.crt` ConfigMap of every namespace
 * holds exactly the expected CAs (the controller-manager publishes its `--root-ca-file` there
 * after it restarts). It changes nothing itself.
 * @module
 */
import type { StepKind } from "../engine/step.ts";
import type { StepOfKind } from "../plan/schema.ts";
import {
  describeRootCaProblems,
  ROOT_CA_CONFIGMAP,
  type RootCaStatus,
  rootCaStatus,
  trustSetName,
} from "./root_ca_configmaps.ts";

type Step = StepOfKind<"wait-root-ca-configmaps">;

/** The wait-root-ca-configmaps step kind. */
export const waitRootCaConfigMaps: StepKind<Step, RootCaStatus | undefined> = {
  kind: "wait-root-ca-configmaps",

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
        return last.wrong.length === 0;
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
};
