import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import {
  decodeInventory,
  encodeInventory,
  inventoryFreshness,
  type NodeInventory,
} from "./node_inventory.ts";

const inventory: NodeInventory = {
  plan: "prod",
  recordedAt: "2026-12-06T10:00:00.000Z",
  recordedBy: "runner/42 https://ci.example/run/1",
  nodes: {
    "cp-1": {
      "/etc/kubernetes/pki/ca.crt": { sha256: "ab".repeat(32), content: "cert\n", stripped: 0 },
      "/etc/kubernetes/super-admin.conf": null,
    },
  },
  cas: {},
};

Deno.test("an inventory survives encode → decode (gzip, base64 in binaryData)", async () => {
  const encoded = await encodeInventory(inventory);
  assert.equal(encoded.data.recordedAt, inventory.recordedAt);
  assert.equal(encoded.data.files, "2");
  assert.deepEqual(await decodeInventory(encoded, "ConfigMap x"), inventory);
  await assert.rejects(
    () => decodeInventory({ data: encoded.data, binaryData: {} }, "ConfigMap kube-system/y"),
    /ConfigMap kube-system\/y: binaryData\["inventory.json.gz"\] is missing/,
  );
});

Deno.test("an inventory holding a private key is refused (negative control)", async () => {
  const key = generateKeyPairSync("ec", {
    namedCurve: "P-256",
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "sec1", format: "pem" },
  }).privateKey as unknown as string;
  const leaky: NodeInventory = {
    ...inventory,
    nodes: { "cp-1": { "/etc/kubernetes/pki/ca.key": { sha256: "0", content: key, stripped: 0 } } },
  };
  await assert.rejects(
    () => encodeInventory(leaky),
    /cp-1:\/etc\/kubernetes\/pki\/ca\.key still holds a private key/,
  );
});

Deno.test("inventoryFreshness: age, older than a day, recorded before the last step", () => {
  const fresh = inventoryFreshness(inventory, undefined, new Date("2026-12-06T10:05:00Z"));
  assert.equal(fresh.ageSeconds, 300);
  assert.deepEqual(fresh.warnings, []);
  const old = inventoryFreshness(inventory, undefined, new Date("2026-12-08T10:00:00Z"));
  assert.match(old.warnings[0], /2d0h old/);
  const before = inventoryFreshness(
    inventory,
    {
      steps: {
        "distribute-cluster-ca": {
          status: "done",
          attempts: 1,
          digest: "x",
          finishedAt: "2026-12-06T11:00:00Z",
        },
      },
    },
    new Date("2026-12-06T12:00:00Z"),
  );
  assert.match(
    before.warnings[0],
    /recorded before the rotation's last step \(distribute-cluster-ca/,
  );
});
