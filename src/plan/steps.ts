/**
 * The closed set of step kinds and each kind's parameters. Every step has an `id` (a DNS
 * label, unique in the plan), a `phase` and a `kind`; the rest are the kind's parameters.
 * Fields marked "tuning" (batch sizes, timeouts, waits) may change mid-rotation: they are left
 * out of the plan digest.
 * @module
 */
import { z } from "zod";
import { CA_NAMES, TRUST_SETS } from "./ca.ts";
import { DURATION_PATTERN } from "./duration.ts";
import { dnsLabel, namespacePattern, nodeName, positiveInt } from "./fields.ts";
import { PHASES } from "./phase.ts";

/** The step kinds, in the order they usually appear in a plan. */
export const STEP_KINDS = [
  "distribute-ca",
  "set-component-flags",
  "restart-component",
  "update-kubeconfigs",
  "activate-ca",
  "reissue-leaves",
  "roll-kubelets",
  "roll-workloads",
  "update-cluster-info",
  "wait-root-ca-configmaps",
  "verify",
  "verify-kubelet-rotation",
  "remove-old-ca",
] as const;

/** One step kind. */
export type StepKind = typeof STEP_KINDS[number];

/** The control-plane components whose static-pod manifests a plan edits and restarts. */
export const COMPONENTS = [
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "cloud-controller-manager",
] as const;

/** The workload kinds `roll-workloads` can roll. */
export const WORKLOAD_KINDS = ["Deployment", "DaemonSet", "StatefulSet"] as const;

/** The checks a `verify` step can run. */
export const VERIFY_CHECKS = [
  "api-serving-chain",
  "root-ca-configmaps",
  "nodes-ready",
  "workloads-available",
  "components-healthy",
  "kubeconfigs",
] as const;

/** The node groups of a plan. */
export const NODE_GROUPS = ["controlPlane", "workers"] as const;

/** The parameters every step has. */
const stepBase = {
  id: dnsLabel,
  phase: z.enum(PHASES),
};

const ca = z.enum(CA_NAMES);
const trustSet = z.enum(TRUST_SETS);
const component = z.enum(COMPONENTS);
const healthTimeoutSeconds = positiveInt.default(120);
const flagName = z.string().regex(
  /^--[a-z0-9][a-z0-9-]*$/,
  'must be a flag name such as "--client-ca-file"',
);
const fileName = z.string().regex(
  /^[^\s]+$/,
  "must be a file name (relative to the layout's directory) or an absolute path",
);
const certName = z.string().regex(
  /^[a-z0-9][a-z0-9-]*$/,
  'must be a certificate base name in the PKI directory, such as "apiserver" (no .crt)',
);

/**
 * `distribute-ca`: stage the new CA certificate and key on every control-plane node
 * (`<pkiDir>/<base>-new.crt`, `.key`, 0600) and write the bundle `<pkiDir>/<base>-bundle.crt`
 * (old + new).
 */
export const DistributeCaStep = z.strictObject({
  ...stepBase,
  kind: z.literal("distribute-ca"),
  ca,
});

/**
 * `set-component-flags`: set flags in a component's static-pod manifest on every control-plane
 * node. The kubelet restarts a static pod whenever its manifest changes, so the edit is itself
 * a restart: it is applied one node at a time, waiting until the component is healthy again
 * (`healthTimeoutSeconds`) before the next node, never two API servers down at once.
 */
export const SetComponentFlagsStep = z.strictObject({
  ...stepBase,
  kind: z.literal("set-component-flags"),
  component,
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

/**
 * `restart-component`: restart a component whose files changed under an unchanged manifest
 * (activated CA, re-issued certificates, kubeconfigs), one node at a time, waiting until healthy.
 */
export const RestartComponentStep = z.strictObject({
  ...stepBase,
  kind: z.literal("restart-component"),
  component,
  /** `all` control-plane nodes, or the named ones, in this order. */
  nodes: z.union([z.literal("all"), z.array(nodeName).min(1, "must name at least one node")], {
    error: 'must be "all" or a list of control-plane node names',
  }).default("all"),
  /** Tuning: how long to wait for the component to be healthy on each node. */
  healthTimeoutSeconds,
});

/**
 * `update-kubeconfigs`: set `certificate-authority-data` of kubeconfig files (relative to
 * `layout.kubeconfigDir`, or absolute) to the bundle or the new CA.
 */
export const UpdateKubeconfigsStep = z.strictObject({
  ...stepBase,
  kind: z.literal("update-kubeconfigs"),
  files: z.array(fileName).min(1, "must name at least one kubeconfig"),
  /** Files (of `files`) updated only on the nodes that have them (e.g. super-admin.conf). */
  ifPresent: z.array(fileName).default([]),
  on: z.enum(NODE_GROUPS).default("controlPlane"),
  caData: trustSet,
  ca: z.literal("cluster", 'must be "cluster": kubeconfigs hold the cluster CA').default(
    "cluster",
  ),
});

/**
 * `activate-ca`: the staged new CA becomes `<base>.crt`/`<base>.key` on every control-plane
 * node, so whatever reads those files (the controller-manager's signer) now uses the new CA.
 */
export const ActivateCaStep = z.strictObject({
  ...stepBase,
  kind: z.literal("activate-ca"),
  ca,
});

/**
 * `reissue-leaves`: re-issue leaf certificates (`<pkiDir>/<name>.crt`) and the client
 * certificates inside kubeconfigs with the new CA, keeping subject, SANs and usages.
 */
export const ReissueLeavesStep = z.strictObject({
  ...stepBase,
  kind: z.literal("reissue-leaves"),
  ca,
  certs: z.array(certName).default([]),
  /** Kubeconfigs (relative to `layout.kubeconfigDir`, or absolute) whose client cert to re-issue. */
  kubeconfigs: z.array(fileName).default([]),
  /** Names (of `certs` or `kubeconfigs`) re-issued only on the nodes that have them. */
  ifPresent: z.array(fileName).default([]),
  /** Validity of the new leaves; absent: the same lifetime as the certificate replaced. */
  validityDays: positiveInt.optional(),
});

/**
 * `roll-kubelets`: on every node, in batches: the kubelet config's `clientCAFile` and
 * `kubelet.conf`'s `certificate-authority-data` → the bundle or the new CA; restart the
 * kubelet (`layout.kubeletRestart`); wait until the node is Ready.
 */
export const RollKubeletsStep = z.strictObject({
  ...stepBase,
  kind: z.literal("roll-kubelets"),
  clientCA: trustSet,
  /** Tuning: nodes restarted at once. */
  batchSize: positiveInt.default(1),
  /** Tuning: how long to wait for each node to be Ready. */
  healthTimeoutSeconds: positiveInt.default(300),
});

/** Namespace selection: glob patterns to include, then to exclude. */
export const NamespaceSelector = z.strictObject({
  include: z.array(namespacePattern).min(1, "must include at least one pattern").default(["*"]),
  exclude: z.array(namespacePattern).default([]),
});

/**
 * `roll-workloads`: annotate pod templates to roll workloads in bounded batches, waiting for
 * each rollout. Absent fields come from the plan's `workloads` section.
 */
export const RollWorkloadsStep = z.strictObject({
  ...stepBase,
  kind: z.literal("roll-workloads"),
  kinds: z.array(z.enum(WORKLOAD_KINDS)).min(1, "must name at least one kind").optional(),
  namespaces: NamespaceSelector.optional(),
  /** Tuning: workloads rolled at once. */
  batchSize: positiveInt.optional(),
  /** Tuning: how long to wait for each rollout. */
  timeoutSeconds: positiveInt.optional(),
  /** Tuning: namespaces rolled first, in this order (default: kube-system). */
  order: z.array(namespacePattern).optional(),
});

/** `update-cluster-info`: `cluster-info` in `kube-public` → the bundle or the new CA. */
export const UpdateClusterInfoStep = z.strictObject({
  ...stepBase,
  kind: z.literal("update-cluster-info"),
  caData: trustSet,
});

/**
 * `wait-root-ca-configmaps`: wait until every namespace's `kube-root-ca.crt` holds exactly
 * these CAs (the controller-manager publishes its `--root-ca-file`).
 */
export const WaitRootCaConfigMapsStep = z.strictObject({
  ...stepBase,
  kind: z.literal("wait-root-ca-configmaps"),
  expect: trustSet,
  /** Tuning. */
  timeoutSeconds: positiveInt.default(300),
});

/** `verify`: check that the cluster is in the state the phase `expect` leaves it in. */
export const VerifyStep = z.strictObject({
  ...stepBase,
  kind: z.literal("verify"),
  checks: z.array(z.enum(VERIFY_CHECKS)).min(1, "must name at least one check").default([
    ...VERIFY_CHECKS,
  ]),
  expect: z.enum(PHASES),
  /** Tuning: how long to wait for the checks to pass. */
  timeoutSeconds: positiveInt.default(300),
});

/**
 * `verify-kubelet-rotation`: the gate before old-CA removal — every kubelet must authenticate
 * with a client certificate issued by the new CA.
 */
export const VerifyKubeletRotationStep = z.strictObject({
  ...stepBase,
  kind: z.literal("verify-kubelet-rotation"),
  /** Tuning: how long to wait for stragglers, e.g. `10m` (absent: check once). */
  wait: z.string().regex(DURATION_PATTERN, "must be a duration such as 90s, 10m or 1h30m")
    .optional(),
  /** Tuning: make blocking nodes obtain a new-CA certificate through node access. */
  forceRotation: z.boolean().default(false),
});

/** `remove-old-ca`: delete the bundle and staging files once nothing references them. */
export const RemoveOldCaStep = z.strictObject({
  ...stepBase,
  kind: z.literal("remove-old-ca"),
  ca,
});

/** Any step: a union discriminated by `kind`. */
export const StepSchema = z.discriminatedUnion("kind", [
  DistributeCaStep,
  SetComponentFlagsStep,
  RestartComponentStep,
  UpdateKubeconfigsStep,
  ActivateCaStep,
  ReissueLeavesStep,
  RollKubeletsStep,
  RollWorkloadsStep,
  UpdateClusterInfoStep,
  WaitRootCaConfigMapsStep,
  VerifyStep,
  VerifyKubeletRotationStep,
  RemoveOldCaStep,
]);

/** Fields that may change mid-rotation without changing what a step does (not digested). */
export const STEP_TUNING_FIELDS = [
  "batchSize",
  "timeoutSeconds",
  "healthTimeoutSeconds",
  "wait",
  "forceRotation",
  "order",
] as const;

// STEP_KINDS and the union must name the same kinds.
type UnionKind = z.infer<typeof StepSchema>["kind"];
const _sameKinds: [UnionKind] extends [StepKind] ? [StepKind] extends [UnionKind] ? true : never
  : never = true;
void _sameKinds;
