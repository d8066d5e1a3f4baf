/**
 * Static-pod manifests besides the control-plane components, for the tests of the static pods
 * that mount kubeconfigs or the PKI directory.
 * @module
 */

/** A static pod with the given hostPath volumes. */
export function staticPodManifest(
  name: string,
  hostPaths: readonly string[],
  /** More container fields (a probe), indented as the container's. */
  extra = "",
): string {
  const volumes = hostPaths.map((path, index) =>
    `  - name: v${index}\n    hostPath:\n      path: ${path}\n`
  ).join("");
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: kube-system
spec:
  hostNetwork: true
  containers:
  - name: ${name}
    image: example.invalid/${name}:v1
    command: [${name}]
${extra}  volumes:
${volumes}`;
}
