/**
 * Where a cluster keeps its PKI, static-pod manifests, kubeconfigs and kubelet files. A preset
 * fills the defaults; any field may be overridden.
 * @module
 */
import { z } from "zod";
import { absolutePath, nonEmpty } from "./fields.ts";

/** A fully resolved layout: every path is absolute, as seen on the node. */
export interface Layout {
  /** The preset the defaults came from, if any. */
  readonly preset?: LayoutPreset;
  /** PKI directory: `ca.crt`, `apiserver.crt`, … */
  readonly pkiDir: string;
  /** Static-pod manifests directory. */
  readonly manifestsDir: string;
  /** Directory of the component kubeconfigs (`admin.conf`, `scheduler.conf`, …). */
  readonly kubeconfigDir: string;
  /** The kubelet's configuration file (holds `authentication.x509.clientCAFile`). */
  readonly kubeletConfig: string;
  /** The kubelet's kubeconfig. */
  readonly kubeletKubeconfig: string;
  /** The kubelet's certificate directory (`kubelet-client-current.pem`). */
  readonly kubeletPkiDir: string;
  /** Where every changed node file is backed up first. */
  readonly backupDir: string;
  /** The command, run on the node, that restarts the kubelet. */
  readonly kubeletRestart: readonly string[];
}

/** The names of the layout presets. */
export const LAYOUT_PRESETS = ["kubeadm"] as const;

/** A layout preset name. */
export type LayoutPreset = typeof LAYOUT_PRESETS[number];

/** The defaults each preset provides. */
export const PRESET_LAYOUTS: Record<LayoutPreset, Omit<Layout, "preset">> = {
  kubeadm: {
    pkiDir: "/etc/kubernetes/pki",
    manifestsDir: "/etc/kubernetes/manifests",
    kubeconfigDir: "/etc/kubernetes",
    kubeletConfig: "/var/lib/kubelet/config.yaml",
    kubeletKubeconfig: "/etc/kubernetes/kubelet.conf",
    kubeletPkiDir: "/var/lib/kubelet/pki",
    backupDir: "/var/lib/ca-rotator/backup",
    kubeletRestart: ["systemctl", "restart", "kubelet"],
  },
};

const LAYOUT_FIELDS = [
  "pkiDir",
  "manifestsDir",
  "kubeconfigDir",
  "kubeletConfig",
  "kubeletKubeconfig",
  "kubeletPkiDir",
  "backupDir",
  "kubeletRestart",
] as const;

/** The `layout` section: a preset and overrides, resolved to a {@link Layout}. */
export const LayoutSchema = z.strictObject({
  preset: z.enum(LAYOUT_PRESETS).optional(),
  pkiDir: absolutePath.optional(),
  manifestsDir: absolutePath.optional(),
  kubeconfigDir: absolutePath.optional(),
  kubeletConfig: absolutePath.optional(),
  kubeletKubeconfig: absolutePath.optional(),
  kubeletPkiDir: absolutePath.optional(),
  backupDir: absolutePath.optional(),
  kubeletRestart: z.array(nonEmpty).min(1, "must name a command").optional(),
}).transform((input, ctx): Layout => {
  const defaults = input.preset ? PRESET_LAYOUTS[input.preset] : undefined;
  const resolved: Record<string, unknown> = { preset: input.preset };
  for (const field of LAYOUT_FIELDS) {
    const value = input[field] ?? defaults?.[field];
    if (value === undefined) {
      ctx.issues.push({
        code: "custom",
        input,
        path: [field],
        message: `is missing (no preset gives it; set "preset: kubeadm" or give ${field})`,
      });
    }
    resolved[field] = value;
  }
  return resolved as unknown as Layout;
});
