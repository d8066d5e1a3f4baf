import assert from "node:assert/strict";
import { SERVICE_ACCOUNT_PATH } from "./pod_process.ts";
import type { Pod } from "./pod_programs.ts";
import {
  secretVolumeAt,
  secretVolumeFiles,
  SYNC_FREQUENCY_ANNOTATION,
  syncDelayMs,
  syncFrequencyMs,
} from "./pod_secret_volume.ts";

/** A pod as the API returns it: with fields {@linkcode Pod} does not name. */
function pod(mountPath = SERVICE_ACCOUNT_PATH, secret: Record<string, unknown> = {}): Pod {
  const spec = {
    volumes: [{ name: "sa-token", secret: { secretName: "reader-token", ...secret } }],
    containers: [{ name: "c", volumeMounts: [{ name: "sa-token", mountPath }] }],
  };
  return { metadata: { name: "legacy", namespace: "ns" }, spec };
}

Deno.test("the Secret volume is the one the first container mounts at the path", () => {
  assert.deepEqual(secretVolumeAt(pod(), SERVICE_ACCOUNT_PATH), {
    name: "sa-token",
    secretName: "reader-token",
    defaultMode: 0o644,
    optional: false,
    items: false,
  });
  assert.equal(secretVolumeAt(pod("/elsewhere"), SERVICE_ACCOUNT_PATH), undefined);
  const mapped = pod(SERVICE_ACCOUNT_PATH, { items: [{ key: "token", path: "token" }] });
  assert.equal(secretVolumeAt(mapped, SERVICE_ACCOUNT_PATH)?.items, true);
});

Deno.test("the volume holds exactly the Secret's keys: no token key, no token file", () => {
  const data = { "ca.crt": btoa("PEM"), namespace: btoa("ns"), token: btoa("jwt") };
  assert.deepEqual(secretVolumeFiles({ data }, 0o640), {
    "ca.crt": { data: "PEM", mode: 0o640 },
    namespace: { data: "ns", mode: 0o640 },
    token: { data: "jwt", mode: 0o640 },
  });
  const { token: _, ...withoutToken } = data;
  assert.deepEqual(Object.keys(secretVolumeFiles({ data: withoutToken }, 0o644)), [
    "ca.crt",
    "namespace",
  ]);
  assert.deepEqual(secretVolumeFiles({}, 0o644), {});
  // UTF-8 text survives the base64 of the API.
  const utf8 = btoa(String.fromCharCode(...new TextEncoder().encode("é")));
  assert.equal(secretVolumeFiles({ data: { k: utf8 } }, 0o644).k.data, "é");
});

Deno.test("sync every period stretched by 0–50 %; a pod's annotation sets its own period", () => {
  assert.equal(syncDelayMs(60_000, () => 0), 60_000);
  assert.equal(syncDelayMs(60_000, () => 0.5), 75_000);
  assert.equal(syncFrequencyMs(pod(), 60_000), 60_000);
  const fast = pod();
  fast.metadata.annotations = { [SYNC_FREQUENCY_ANNOTATION]: "2.5" };
  assert.equal(syncFrequencyMs(fast, 60_000), 2_500);
  fast.metadata.annotations = { [SYNC_FREQUENCY_ANNOTATION]: "soon" };
  assert.throws(() => syncFrequencyMs(fast, 60_000), /"soon" is no number of seconds/);
});
