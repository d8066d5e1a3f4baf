import assert from "node:assert/strict";
import {
  describeStalePods,
  type PodObject,
  type PodOwner,
  podTrustFacts,
  stalePods,
} from "./_pod_trust.ts";

const published = new Date("2026-11-26T12:00:00Z");
const before = "2026-11-26T11:00:00Z";
const after = "2026-11-26T13:00:00Z";

const apiAccess = {
  name: "kube-api-access-x1",
  projected: {
    sources: [
      { serviceAccountToken: { path: "token" } },
      { configMap: { name: "kube-root-ca.crt" } },
    ],
  },
};

function pod(
  name: string,
  options: {
    namespace?: string;
    startTime?: string;
    owner?: { kind: string; name: string };
    volumes?: unknown[];
  } = {},
): PodObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: options.namespace ?? "apps",
      ownerReferences: options.owner ? [{ ...options.owner, controller: true }] : undefined,
    },
    spec: { volumes: (options.volumes ?? [apiAccess]) as never },
    status: { phase: "Running", startTime: options.startTime ?? before },
  };
}

const parents = new Map<string, PodOwner | undefined>([
  ["apps/ReplicaSet/web-5d8f", { kind: "Deployment", name: "web" }],
  ["apps/Job/backup-29001", { kind: "CronJob", name: "backup" }],
  ["apps/Job/migrate", undefined],
]);

/** What this rotation rolled: the plan's rolls covered these, not StatefulSets or legacy-*. */
const coverage = new Set(["apps/Deployment/web", "apps/DaemonSet/agent"]);

const inventory = (pods: PodObject[], accept = [] as { namespace: string; owner?: string }[]) =>
  stalePods(
    pods.map((each) => podTrustFacts(each, parents)),
    new Map([["apps", published], ["legacy-billing", published]]),
    coverage,
    accept,
  );

Deno.test("pods started before the bundle was published are stale; later ones are not", () => {
  const stale = inventory([
    pod("web-5d8f-a", { owner: { kind: "ReplicaSet", name: "web-5d8f" } }),
    pod("web-5d8f-b", { owner: { kind: "ReplicaSet", name: "web-5d8f" }, startTime: after }),
  ]);
  assert.deepEqual(stale.map((each) => each.name), ["web-5d8f-a"]);
  assert.deepEqual(stale[0].owner, { kind: "Deployment", name: "web" });
  assert.equal(stale[0].coverage, "covered");
});

Deno.test("a namespace whose kube-root-ca.crt has no bundle yet: every pod there is stale", () => {
  const stale = inventory([pod("late", { namespace: "new-team", startTime: after })]);
  assert.deepEqual(stale.map((each) => `${each.namespace}/${each.name}`), ["new-team/late"]);
});

Deno.test("pods without the API CA mounted or not started are not in the inventory", () => {
  const noAutomount = pod("quiet", { volumes: [] });
  const tokenOnly = pod("token-only", {
    volumes: [{ name: "t", projected: { sources: [{ serviceAccountToken: {} }] } }],
  });
  const plainConfigMap = pod("plain", {
    volumes: [{ name: "ca", configMap: { name: "kube-root-ca.crt" } }],
  });
  const pending = pod("pending");
  delete pending.status!.startTime;
  const stale = inventory([noAutomount, tokenOnly, plainConfigMap, pending]);
  assert.deepEqual(stale.map((each) => each.name), ["plain"]);
});

Deno.test("owners: Deployment through its ReplicaSet, CronJob through its Job, bare pods", () => {
  const stale = inventory([
    pod("backup-29001-x", { owner: { kind: "Job", name: "backup-29001" } }),
    pod("migrate-y", { owner: { kind: "Job", name: "migrate" } }),
    pod("debug"),
    pod("agent-z", { owner: { kind: "DaemonSet", name: "agent" } }),
    pod("db-0", { owner: { kind: "StatefulSet", name: "db" } }),
    pod("op-1", { owner: { kind: "EtcdCluster", name: "main" } }),
    pod("old-1", {
      namespace: "legacy-billing",
      owner: { kind: "ReplicaSet", name: "gone-1" },
    }),
  ]);
  const summary = stale.map((each) =>
    `${each.name} ${each.owner.kind}/${each.owner.name} ${each.coverage}`
  );
  assert.deepEqual(summary, [
    "agent-z DaemonSet/agent covered",
    "backup-29001-x CronJob/backup not-a-workload",
    "db-0 StatefulSet/db not-rolled",
    "debug Pod/debug not-a-workload",
    "migrate-y Job/migrate not-a-workload",
    "op-1 EtcdCluster/main not-a-workload",
    "old-1 ReplicaSet/gone-1 not-a-workload",
  ]);
});

Deno.test("workloads the rotation did not roll are named, and the plan can accept pods by owner", () => {
  parents.set("legacy-billing/ReplicaSet/api-7", { kind: "Deployment", name: "api" });
  const pods = [
    pod("api-7-a", { namespace: "legacy-billing", owner: { kind: "ReplicaSet", name: "api-7" } }),
    pod("backup-29001-x", { owner: { kind: "Job", name: "backup-29001" } }),
  ];
  const held = inventory(pods);
  assert.deepEqual(
    held.map((each) => [each.name, each.coverage, each.accepted]),
    [
      ["backup-29001-x", "not-a-workload", false],
      ["api-7-a", "not-rolled", false],
    ],
  );
  const accepted = inventory(pods, [{ namespace: "apps", owner: "CronJob/*" }]);
  assert.deepEqual(
    accepted.filter((each) => each.accepted).map((each) => each.name),
    ["backup-29001-x"],
  );
  assert.match(
    describeStalePods(held.filter((each) => !each.accepted)),
    /legacy-billing\/api-7-a \(owner Deployment\/api: the plan's rolls leave it out \(an excluded namespace or kind\)\)/,
  );
});

Deno.test("after finalize, one time for every namespace: pods older than the new CA", () => {
  const newCaBorn = new Date("2026-11-26T12:00:00Z");
  const stale = stalePods(
    [pod("old", { startTime: before }), pod("young", { startTime: after })]
      .map((each) => podTrustFacts(each, parents)),
    newCaBorn,
    coverage,
    [],
  );
  assert.deepEqual(stale.map((each) => each.name), ["old"]);
});

const tokenVolume = (secretName: string) => ({ name: "legacy", secret: { secretName } });
const tokenSecrets = new Set(["apps/legacy-token", "apps/renewed-token"]);

/** Inventory that counts legacy token Secrets: `legacy-token` got the new CA at `published`. */
const tokenInventory = (pods: PodObject[], tokenPublishedAt: Map<string, Date> | Date) =>
  stalePods(
    pods.map((each) => podTrustFacts(each, parents, tokenSecrets)),
    new Map([["apps", published]]),
    coverage,
    [],
    tokenPublishedAt,
  );

Deno.test("a pod that read a token Secret's ca.crt before it held the new CA is stale", () => {
  const tokenReader = pod("legacy-reader", {
    startTime: after,
    volumes: [tokenVolume("legacy-token")],
  });
  const secretPublished = new Date("2026-11-26T14:00:00Z");
  const stale = tokenInventory([tokenReader], new Map([["apps/legacy-token", secretPublished]]));
  assert.deepEqual(stale.map((each) => [each.name, each.staleTokenSecrets]), [
    ["legacy-reader", ["apps/legacy-token"]],
  ]);
  assert.match(
    describeStalePods(stale),
    /apps\/legacy-reader \(owner Pod\/legacy-reader: .*; reads ca\.crt of token Secret legacy-token\)/,
  );
});

Deno.test("token Secret readers started after it held the new CA, or of other Secrets, are not stale", () => {
  const pods = [
    pod("fresh-reader", { startTime: after, volumes: [tokenVolume("legacy-token")] }),
    pod("plain-secret", { startTime: before, volumes: [tokenVolume("app-config")] }),
  ];
  const stale = tokenInventory(pods, new Map([["apps/legacy-token", published]]));
  assert.deepEqual(stale.map((each) => each.name), []);
});

Deno.test("a token Secret that never held the new CA: every pod mounting it is stale", () => {
  const reader = pod("late-reader", {
    startTime: after,
    volumes: [tokenVolume("renewed-token")],
  });
  assert.deepEqual(tokenInventory([reader], new Map()).map((each) => each.name), [
    "late-reader",
  ]);
  // The control: without counting token Secrets, the same pod is not in the inventory.
  const uncounted = stalePods(
    [podTrustFacts(reader, parents)],
    new Map([["apps", published]]),
    coverage,
    [],
  );
  assert.deepEqual(uncounted, []);
});
