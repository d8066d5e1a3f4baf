/**
 * kwok: fakes the pods of the test cluster's nodes (they become Ready, so Deployments and
 * DaemonSets roll) and gives each node its initial status. It authenticates with a
 * ServiceAccount token and does not verify the API server's certificate, so that it — test
 * scaffolding standing for the container runtime — is untouched by a CA rotation; the
 * kubelets (kubelet-client) are what holds client certificates and keeps nodes Ready.
 * @module
 */
import { stringify } from "yaml";

/** Annotation that puts a node under kwok's management. */
export const KWOK_NODE_ANNOTATION = { "kwok.x-k8s.io/node": "fake" } as const;

/** Path of the kwok stages shipped beside this file. */
export const KWOK_STAGES_FILE = new URL("./kwok_stages.yaml", import.meta.url).pathname;

/** A kubeconfig for kwok: bearer token, server certificate not verified. */
export function renderKwokKubeconfig(server: string, tokenFile: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "cluster", cluster: { server, "insecure-skip-tls-verify": true } }],
    users: [{ name: "kwok", user: { tokenFile } }],
    contexts: [{ name: "kwok", context: { cluster: "cluster", user: "kwok" } }],
    "current-context": "kwok",
  });
}

/** The RBAC objects kwok's ServiceAccount needs (cluster-admin, as kwokctl gives it). */
export const KWOK_RBAC_MANIFEST = stringify({
  apiVersion: "v1",
  kind: "List",
  items: [
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "kwok-controller", namespace: "kube-system" },
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "ca-rotator-test:kwok-controller" },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "cluster-admin",
      },
      subjects: [{ kind: "ServiceAccount", name: "kwok-controller", namespace: "kube-system" }],
    },
  ],
});

/** kwok's command line. */
export function kwokArgs(
  opts: { binDir: string; kubeconfig: string; serverAddress: string; stagesFile?: string },
): string[] {
  return [
    `${opts.binDir}/kwok`,
    `--kubeconfig=${opts.kubeconfig}`,
    `--config=${opts.stagesFile ?? KWOK_STAGES_FILE}`,
    "--manage-all-nodes=false",
    `--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake`,
    "--node-lease-duration-seconds=0",
    `--server-address=${opts.serverAddress}`,
    "--cidr=10.244.0.0/16",
  ];
}
