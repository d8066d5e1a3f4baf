/**
 * Where things live on a node, derived from the plan's layout: the PKI files of a CA (current,
 * staged new, bundle), leaf certificates, static-pod manifests and kubeconfigs. Every step, check
 * and command builds these paths here.
 * @module
 */
import { caFileBase, type CaName } from "./ca.ts";
import type { Layout } from "./layout.ts";

/** The PKI paths of one CA on a node, as kubeadm names them. */
export interface CaPaths {
  /** The CA in use: `<pkiDir>/<base>.crt`. */
  readonly cert: string;
  readonly key: string;
  /** The new CA, staged by distribute-ca: `<base>-new.crt`. */
  readonly newCert: string;
  readonly newKey: string;
  /** Old + new CA: `<base>-bundle.crt`. */
  readonly bundle: string;
}

/** The PKI paths of one CA. */
export function caPaths(layout: Pick<Layout, "pkiDir">, ca: CaName): CaPaths {
  const base = `${layout.pkiDir}/${caFileBase(ca)}`;
  return {
    cert: `${base}.crt`,
    key: `${base}.key`,
    newCert: `${base}-new.crt`,
    newKey: `${base}-new.key`,
    bundle: `${base}-bundle.crt`,
  };
}

/** A leaf certificate and its key in the PKI directory (`apiserver` → `apiserver.crt`). */
export function leafPaths(
  layout: Pick<Layout, "pkiDir">,
  name: string,
): { cert: string; key: string } {
  return { cert: `${layout.pkiDir}/${name}.crt`, key: `${layout.pkiDir}/${name}.key` };
}

/** The static-pod manifest of a control-plane component. */
export function manifestPath(layout: Pick<Layout, "manifestsDir">, component: string): string {
  return `${layout.manifestsDir}/${component}.yaml`;
}

/** A kubeconfig on a node: absolute, or relative to the layout's kubeconfig directory. */
export function kubeconfigPath(layout: Pick<Layout, "kubeconfigDir">, file: string): string {
  return file.startsWith("/") ? file : `${layout.kubeconfigDir}/${file}`;
}

/**
 * The kubeconfigs of `layout.kubeconfigDir` on every control-plane node that hold the cluster
 * CA, and whether every node has them (kubeadm writes `super-admin.conf` on the first node
 * only). The plans' `update-kubeconfigs` steps name these files; the `kubeconfigs` check of
 * `verify` reads them.
 */
export const CONTROL_PLANE_KUBECONFIGS: readonly { file: string; required: boolean }[] = [
  { file: "admin.conf", required: true },
  { file: "controller-manager.conf", required: true },
  { file: "scheduler.conf", required: true },
  { file: "super-admin.conf", required: false },
];

/**
 * The leaf certificates kubeadm issues in the PKI directory, by the CA that issues them: what the
 * `reissue-leaves` steps of a plan re-issue and the `leaf-certificates` check of `verify` reads.
 */
export const KUBEADM_LEAF_CERTIFICATES: readonly { name: string; ca: CaName }[] = [
  { name: "apiserver", ca: "cluster" },
  { name: "apiserver-kubelet-client", ca: "cluster" },
  { name: "front-proxy-client", ca: "frontProxy" },
];

/**
 * The file roll-kubelets writes on a node (beside the backups) before it changes that node's
 * kubelet files, and removes once the kubelet has been restarted: a run killed in between leaves
 * it, and the next run restarts that kubelet even though its files are already right.
 */
export function kubeletRestartPendingPath(layout: Pick<Layout, "backupDir">): string {
  const parent = layout.backupDir.replace(/\/+$/, "").replace(/\/[^/]*$/, "") || "/";
  return `${parent === "/" ? "" : parent}/kubelet-restart-pending`;
}

/**
 * ca-rotator's own files on a node (its bookkeeping, such as the kubelet restart mark), which
 * the node drivers do not back up: restoring one would replay a run's bookkeeping, not the
 * node's configuration.
 */
export function ownNodeFiles(layout: Pick<Layout, "backupDir">): string[] {
  return [kubeletRestartPendingPath(layout)];
}

/** The service-account signing key files on a control-plane node, as kubeadm names them. */
export interface ServiceAccountKeyPaths {
  /** The key in use: `<pkiDir>/sa.key` (signs) and `sa.pub` (verifies). */
  readonly key: string;
  readonly pub: string;
  /** The new pair, staged by distribute-sa-key: `sa-new.key`, `sa-new.pub`. */
  readonly newKey: string;
  readonly newPub: string;
  /** Old + new public key, verified together until finalize: `sa-bundle.pub`. */
  readonly bundle: string;
}

/** The service-account key files of the PKI directory. */
export function serviceAccountKeyPaths(layout: Pick<Layout, "pkiDir">): ServiceAccountKeyPaths {
  const base = `${layout.pkiDir}/sa`;
  return {
    key: `${base}.key`,
    pub: `${base}.pub`,
    newKey: `${base}-new.key`,
    newPub: `${base}-new.pub`,
    bundle: `${base}-bundle.pub`,
  };
}
