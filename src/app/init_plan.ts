/**
 * `init`: a plan for the cluster the kubeconfig points at. Reads the cluster (gets and lists
 * only: nothing in the cluster changes), fills plans/kubeadm.yaml in with what it found
 * (plan_from_cluster.ts) and checks that the result loads as `validate` loads it.
 * @module
 */
import { fileURLToPath } from "node:url";
import { KubeClusterApi } from "../kube/kube_cluster_api.ts";
import { type KubeConfigOptions, loadKubeConfig } from "../kube/kubeconfig.ts";
import { contactServer } from "../kube/server_contact.ts";
import { InputError } from "../plan/input_error.ts";
import { PlanError } from "../plan/plan_error.ts";
import { dnsLabel } from "../plan/fields.ts";
import { parsePlan } from "./plan.ts";
import { type ClusterFacts, readClusterFacts } from "./cluster_facts.ts";
import { type InitPlan, type InitSettings, planFromCluster } from "./plan_from_cluster.ts";

/** The shipped procedure every plan `init` writes is made from. */
export const TEMPLATE_PATH = fileURLToPath(new URL("../../plans/kubeadm.yaml", import.meta.url));

/** What `init` needs: where the cluster is, and the plan's settings (`name` has a default). */
export interface InitOptions extends KubeConfigOptions {
  readonly settings: Omit<InitSettings, "name"> & { readonly name?: string };
}

/** The plan `init` wrote, with the facts it was made from. */
export interface InitResult extends InitPlan {
  readonly name: string;
  readonly facts: ClusterFacts;
}

/**
 * Pure: a plan name from a cluster name (kubeadm's `clusterName`, else the kubeconfig's cluster
 * entry): lowercase, other characters as `-`, at most 63; `cluster` when nothing is left.
 */
export function defaultPlanName(clusterName: string | undefined): string {
  const name = (clusterName ?? "").toLowerCase().replace(/[^a-z0-9-]+/g, "-").slice(0, 63)
    .replace(/^-+|-+$/g, "");
  return name || "cluster";
}

/**
 * Checks the settings that come from flags before the cluster is read.
 * @throws {InputError} naming the flag.
 */
export function checkInitSettings(options: InitOptions): void {
  const { name, driver, nodeRoots } = options.settings;
  if (name !== undefined && !dnsLabel.safeParse(name).success) {
    throw new InputError(
      `--name "${name}" must be a DNS label: lowercase letters, digits and '-', at most 63 ` +
        "characters (it names the progress ConfigMap kube-system/ca-rotator-<name>)",
    );
  }
  if (driver === "local" && !nodeRoots) {
    throw new InputError(
      "--driver local needs --node-roots DIR: the directory holding one root per node, " +
        "DIR/<node name>",
    );
  }
  if (driver !== "local" && nodeRoots) {
    throw new InputError("--node-roots is for --driver local only");
  }
}

/**
 * Reads the cluster and writes the plan's text.
 * @throws {InputError} for bad settings (exit 2), before the cluster is contacted.
 * @throws {Error} when the cluster cannot be reached or a read is refused (naming it; exit 1).
 */
export async function initPlan(options: InitOptions): Promise<InitResult> {
  checkInitSettings(options);
  const config = loadKubeConfig(options);
  await contactServer(config, options); // an unreachable server is told at once
  const facts = await readClusterFacts(new KubeClusterApi(config), {
    server: config.getCurrentCluster()?.server ?? "",
    context: config.getCurrentContext(),
  });
  const name = options.settings.name ??
    defaultPlanName(facts.clusterName ?? config.getCurrentCluster()?.name);
  let plan: InitPlan;
  try {
    plan = planFromCluster(await Deno.readTextFile(TEMPLATE_PATH), facts, {
      ...options.settings,
      name,
    });
  } catch (error) {
    throw new Error(
      `Cannot write a plan from ${TEMPLATE_PATH} for ${facts.server}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  try {
    parsePlan(plan.text, `${name}.yaml`, Deno.env.toObject());
  } catch (error) {
    if (!(error instanceof PlanError)) throw error;
    throw new Error(
      `init wrote a plan that does not validate (a defect of init; the plan was not written): ` +
        error.message,
    );
  }
  return { ...plan, name, facts };
}
