import assert from "node:assert/strict";
import { generateCa, issueCertificate } from "../pki/mod.ts";
import { expiryRows, residual } from "./expiry_report.ts";
import type { HeldCertificate } from "./certificate_inventory.ts";

const DAY = 86_400_000;

Deno.test("residual: as kubeadm prints it", () => {
  assert.equal(residual(-1), "expired");
  assert.equal(residual(0), "expired");
  assert.equal(residual(47 * 3_600_000 + 59 * 60_000), "47h");
  assert.equal(residual(48 * 3_600_000), "2d");
  assert.equal(residual(364 * DAY + 5), "364d");
  assert.equal(residual(729 * DAY), "729d");
  assert.equal(residual(730 * DAY), "2y");
  assert.equal(residual(3649 * DAY), "9y");
});

Deno.test("expiry rows: issuers by the node's CA names, days left, and what is due", async () => {
  const now = new Date();
  const ca = await generateCa({ commonName: "kubernetes", keyType: "ecdsa-p256" });
  const other = await generateCa({
    commonName: "etcd-ca",
    keyType: "ecdsa-p256",
    validityDays: 90,
  });
  const leaf = await issueCertificate({
    ca,
    commonName: "kube-apiserver",
    validityDays: 20,
    now,
  });
  const stranger = await issueCertificate({ ca: other, commonName: "etcd-client" });
  const held: HeldCertificate[] = [
    { node: "cp-1", path: "/pki/ca.crt", role: "ca", cert: ca.cert, caName: "ca" },
    { node: "cp-1", path: "/pki/etcd/ca.crt", role: "ca", cert: other.cert, caName: "etcd-ca" },
    { node: "cp-1", path: "/pki/apiserver.crt", role: "leaf", cert: leaf.cert },
    { node: "cp-1", path: "/pki/etcd/client.crt", role: "leaf", cert: stranger.cert },
    // The same leaf on a node that does not hold its CA.
    { node: "worker-1", path: "/pki/apiserver.crt", role: "leaf", cert: leaf.cert },
  ];
  // Read an hour after issue: X.509 keeps whole seconds, so reading at the moment of issue
  // could land either side of a day boundary.
  const anHourLater = new Date(now.getTime() + 3_600_000);
  const rows = await expiryRows(held, { caDays: 100, leafDays: 30 }, anHourLater);
  assert.deepEqual(rows.map((row) => row.issuer), [
    "self-signed",
    "self-signed",
    "ca",
    "etcd-ca",
    '"CN=kubernetes" (not a CA on the node)',
  ]);
  assert.deepEqual(rows.map((row) => row.due), [false, true, true, false, true]);
  assert.equal(rows[2].daysLeft, 19, "20 days of validity, an hour spent");
  assert.equal(rows[2].notAfter, leaf.cert.notAfter.toISOString());
  const none = await expiryRows(held, {}, anHourLater);
  assert.ok(none.every((row) => !row.due), "no threshold: nothing is due");
  const later = await expiryRows(held, {}, new Date(now.getTime() + 21 * DAY));
  assert.equal(later[2].residual, "expired");
  assert.ok(later[2].daysLeft < 0);
});
