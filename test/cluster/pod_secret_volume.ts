/**
 * A pod's Secret volume mounted at the ServiceAccount path: how a pod uses a legacy
 * service-account token Secret (type kubernetes.io/service-account-token, keys `token`,
 * `ca.crt`, `namespace`) with `automountServiceAccountToken: false`. Mirrors the kubelet's
 * secret volume plugin (k8s.io/kubernetes/pkg/volume/secret, v1.37.2):
 *
 * - The volume holds exactly the Secret's keys (`MakePayload` without `items`), each with the
 *   volume's `defaultMode` (0644), written by the AtomicWriter (pod_volume.ts). A key the Secret
 *   lacks is no file: while a token Secret has no `token` (removed, until the controller-manager
 *   re-issues it) a sync removes `token` from the volume. client-go's cached file token source
 *   then keeps sending the token it read last ("Unable to rotate token"), and reads the file
 *   again a minute later or after a 401.
 * - A Secret that does not exist (and is not `optional`) fails the mount with
 *   `MountVolume.SetUp failed for volume "<volume>" : secret "<name>" not found`: the kubelet
 *   leaves the pod in ContainerCreating and retries. A failed later sync leaves the files as
 *   they are.
 * - The volume is synced with its pod: the kubelet's pod workers sync a pod every
 *   `--sync-frequency` (default 1 min) stretched by a random 0–50 %
 *   (`wait.Jitter(resyncInterval, 0.5)`), and every sync remounts Secret volumes
 *   (`RequiresRemount`), rewriting the files if the Secret changed. The kubelet reads the
 *   Secret from its watch of it; this reads it with a GET at each sync. A sync on a change of
 *   the pod itself is not mirrored.
 * @module
 */
import { type AdminApi, ApiStatusError } from "./pod_api.ts";
import type { Pod } from "./pod_programs.ts";
import type { VolumeFile } from "./pod_volume.ts";

/** The kubelet's default `--sync-frequency`: how often it syncs a pod (before jitter). */
export const KUBELET_SYNC_FREQUENCY_MS = 60_000;

/**
 * Test-only pod annotation: the sync frequency, in seconds, of this pod's Secret volume (a
 * kubelet run with a smaller `--sync-frequency`), instead of the pod runner's.
 */
export const SYNC_FREQUENCY_ANNOTATION = "ca-rotator.test/sync-frequency-seconds";

/** A `secret` volume of a pod. */
export interface SecretVolume {
  /** The volume's name. */
  name: string;
  /** The Secret's name. */
  secretName: string;
  /** Mode of every file (the API server's default: 0644). */
  defaultMode: number;
  /** A missing Secret mounts as an empty volume instead of failing. */
  optional: boolean;
  /** Whether the volume maps keys to paths (`items`), which these pods do not support. */
  items: boolean;
}

/** The parts of a pod spec that name a Secret volume and where it is mounted. */
interface SecretMountSpec {
  volumes?: {
    name: string;
    secret?: { secretName?: string; defaultMode?: number; optional?: boolean; items?: unknown[] };
  }[];
  containers: { volumeMounts?: { name: string; mountPath: string }[] }[];
}

/** The `secret` volume the pod's first container mounts at `mountPath`, or `undefined`. */
export function secretVolumeAt(pod: Pod, mountPath: string): SecretVolume | undefined {
  const spec = pod.spec as SecretMountSpec;
  const mount = spec.containers[0]?.volumeMounts?.find((m) => m.mountPath === mountPath);
  const volume = spec.volumes?.find((v) => v.name === mount?.name);
  if (!volume?.secret) return undefined;
  return {
    name: volume.name,
    secretName: volume.secret.secretName ?? "",
    defaultMode: volume.secret.defaultMode ?? 0o644,
    optional: volume.secret.optional ?? false,
    items: (volume.secret.items?.length ?? 0) > 0,
  };
}

/** The files of a Secret volume: one per key of the Secret's `data`, as (UTF-8) text. */
export function secretVolumeFiles(
  secret: { data?: Record<string, string> },
  mode: number,
): Record<string, VolumeFile> {
  const text = (base64: string) =>
    new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([key, value]) => [key, { data: text(value), mode }]),
  );
}

/**
 * Reads the Secret of `volume` in `namespace` and returns the volume's files; throws the
 * kubelet's mount error when it cannot (see the module documentation).
 */
export async function readSecretVolume(
  api: AdminApi,
  namespace: string,
  volume: SecretVolume,
): Promise<Record<string, VolumeFile>> {
  const failed = `MountVolume.SetUp failed for volume "${volume.name}" :`;
  if (volume.items) throw new Error(`${failed} items are not supported by the test cluster`);
  let secret: { data?: Record<string, string> } = {};
  try {
    secret = await api.request(
      "GET",
      `/api/v1/namespaces/${namespace}/secrets/${volume.secretName}`,
    );
  } catch (error) {
    if (!(error instanceof ApiStatusError && error.status === 404)) {
      throw new Error(`${failed} ${(error as Error).message}`);
    }
    if (!volume.optional) throw new Error(`${failed} secret "${volume.secretName}" not found`);
  }
  return secretVolumeFiles(secret, volume.defaultMode);
}

/** The pod's sync frequency: its {@linkcode SYNC_FREQUENCY_ANNOTATION}, else `defaultMs`. */
export function syncFrequencyMs(pod: Pod, defaultMs: number): number {
  const value = pod.metadata.annotations?.[SYNC_FREQUENCY_ANNOTATION];
  if (value === undefined) return defaultMs;
  const seconds = Number(value);
  if (!(seconds > 0)) {
    throw new Error(`annotation ${SYNC_FREQUENCY_ANNOTATION}: "${value}" is no number of seconds`);
  }
  return seconds * 1000;
}

/** The time to the next sync: `periodMs` stretched by 0–50 %, as `wait.Jitter(period, 0.5)`. */
export function syncDelayMs(periodMs: number, random: () => number = Math.random): number {
  return periodMs * (1 + 0.5 * random());
}

/**
 * A legacy token Secret of the ServiceAccount `serviceAccount` (the controller-manager fills its
 * `token`, `ca.crt` and `namespace`), as a manifest to apply.
 */
export function legacyTokenSecret(namespace: string, name: string, serviceAccount: string) {
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "kubernetes.io/service-account-token",
    metadata: {
      name,
      namespace,
      annotations: { "kubernetes.io/service-account.name": serviceAccount },
    },
  };
}
