/**
 * The files on a node that may name a PKI file by path, read before such a file is removed.
 * @module
 */
import { COMPONENTS } from "../plan/component.ts";
import type { Layout } from "../plan/layout.ts";
import { CONTROL_PLANE_KUBECONFIGS, kubeconfigPath, manifestPath } from "../plan/node_paths.ts";

/**
 * The files on a node that may name a PKI file by path: the static-pod manifest of every
 * control-plane component, the kubelet config, and the kubeconfigs (the control-plane ones and
 * the kubelet's, whose `certificate-authority: <path>` names a file).
 */
export function readersOf(layout: Layout): string[] {
  return [
    ...COMPONENTS.map((component) => manifestPath(layout, component)),
    layout.kubeletConfig,
    ...CONTROL_PLANE_KUBECONFIGS.map(({ file }) => kubeconfigPath(layout, file)),
    layout.kubeletKubeconfig,
  ];
}
