/**
 * The `staticPods` section: static pods besides the control-plane components (kube-apiserver,
 * kube-controller-manager, kube-scheduler, etcd) that mount kubeconfigs or the PKI directory
 * (kube-vip with `admin.conf`, konnectivity), and what the plan does with each — restart it
 * after the files it mounts change, or accept it as it is, with the reason. A run finds them on
 * the nodes and refuses to go on while one is in neither list (src/app/static_pod_coverage.ts).
 * @module
 */
import { z } from "zod";
import { nonEmpty } from "./fields.ts";

/** A static pod's `metadata.name` in its manifest (the mirror pod is `<name>-<node>`). */
export const staticPodName = z.string().regex(
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
  "must be a static pod's metadata.name: lowercase letters, digits, '-' and '.'",
).max(253, "must be at most 253 characters");

/** A static pod the plan leaves running as it is, and why that is safe. */
export const AcceptedStaticPodSchema = z.strictObject({
  name: staticPodName,
  reason: nonEmpty,
});

/** The `staticPods` section, with its defaults (both lists empty). */
export const StaticPodsSchema = z.strictObject({
  /** Restarted (node by node) after the files they mount change: `restart-static-pods` steps. */
  restart: z.array(staticPodName).default([]),
  /** Left as they are, each with the reason. */
  accept: z.array(AcceptedStaticPodSchema).default([]),
}).superRefine((value, ctx) => {
  const seen = new Map<string, string>();
  const note = (name: string, path: (string | number)[]) => {
    const first = seen.get(name);
    if (first !== undefined) {
      ctx.addIssue({
        code: "custom",
        input: name,
        path,
        message:
          `"${name}" is already listed in ${first}: a static pod is restarted or accepted, ` +
          "once",
      });
    } else {
      seen.set(name, `staticPods.${path[0]}[${path[1]}]`);
    }
  };
  value.restart.forEach((name, index) => note(name, ["restart", index]));
  value.accept.forEach((pod, index) => note(pod.name, ["accept", index, "name"]));
});

/** The `staticPods` section. */
export type StaticPods = z.infer<typeof StaticPodsSchema>;

/** What the plan does with the static pod `name`: restart it, accept it, or nothing (unlisted). */
export function staticPodDecision(
  staticPods: StaticPods,
  name: string,
): { readonly action: "restart" } | { readonly action: "accept"; readonly reason: string } | {
  readonly action: "unlisted";
} {
  if (staticPods.restart.includes(name)) return { action: "restart" };
  const accepted = staticPods.accept.find((pod) => pod.name === name);
  return accepted ? { action: "accept", reason: accepted.reason } : { action: "unlisted" };
}
