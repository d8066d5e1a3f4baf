/**
 * The progress record kept in a ConfigMap in kube-system, named after the plan. Every write
 * carries the resourceVersion it read, so no update is lost; it never holds key material.
 * @module
 */
import type { ClusterApi, KubeObject, ObjectRef } from "../engine/cluster_api.ts";
import type { Progress, ProgressStore } from "../engine/progress.ts";

/** The ConfigMap that holds the progress of the plan named `planName`. */
export function progressConfigMapName(planName: string): string {
  return `ca-rotator-${planName}`;
}

/** The ConfigMap that holds the progress of the plan named `planName`, as an object reference. */
export function progressConfigMapRef(planName: string): ObjectRef {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: "kube-system",
    name: progressConfigMapName(planName),
  };
}

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

/** Progress in `kube-system/ca-rotator-<plan>`. */
export class ConfigMapProgressStore implements ProgressStore {
  readonly #cluster: ClusterApi;
  readonly #name: string;
  readonly #ref: ObjectRef;
  #resourceVersion: string | undefined;

  constructor(cluster: ClusterApi, planName: string) {
    this.#cluster = cluster;
    this.#name = progressConfigMapName(planName);
    this.#ref = progressConfigMapRef(planName);
  }

  async load(): Promise<Progress | undefined> {
    const configMap = await this.#read();
    this.#resourceVersion = configMap?.metadata?.resourceVersion;
    const data = configMap?.data;
    if (!data?.steps) return undefined;
    return {
      plan: data.plan,
      planDigest: data.planDigest,
      caFingerprints: JSON.parse(data.caFingerprints ?? "{}"),
      stopAfter: data.stopAfter,
      steps: JSON.parse(data.steps),
      updatedAt: data.updatedAt,
      ...(data.rollback ? { rollback: JSON.parse(data.rollback) } : {}),
    };
  }

  async save(progress: Progress): Promise<void> {
    const data = {
      plan: progress.plan,
      planDigest: progress.planDigest,
      caFingerprints: JSON.stringify(progress.caFingerprints, null, 2),
      stopAfter: progress.stopAfter,
      steps: JSON.stringify(progress.steps, null, 2),
      updatedAt: progress.updatedAt ?? new Date().toISOString(),
      ...(progress.rollback ? { rollback: JSON.stringify(progress.rollback, null, 2) } : {}),
    };
    const object: ConfigMap = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: this.#name,
        namespace: "kube-system",
        labels: { "app.kubernetes.io/managed-by": "ca-rotator" },
        resourceVersion: this.#resourceVersion,
      },
      data,
    };
    const written = this.#resourceVersion === undefined
      ? await this.#cluster.create(object)
      : await this.#cluster.replace(object);
    this.#resourceVersion = written.metadata?.resourceVersion;
  }

  #read(): Promise<ConfigMap | undefined> {
    return this.#cluster.read<ConfigMap>(this.#ref);
  }
}
