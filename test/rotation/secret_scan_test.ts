import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { generateCa } from "../../src/pki/mod.ts";
import { maskAll, maskSecrets } from "../../src/diff/mod.ts";
import { embeddedBase64, findLeaks, keyNeedles } from "./secret_scan.ts";

const ecCa = await generateCa({ commonName: "scan-ec", keyType: "ecdsa-p256", validityDays: 1 });
const rsaCa = await generateCa({ commonName: "scan-rsa", keyType: "rsa-2048", validityDays: 1 });

const labels = (text: string, needles: Awaited<ReturnType<typeof keyNeedles>>) =>
  findLeaks("text", text, needles).map((leak) => leak.label);

Deno.test("findLeaks: a certificate, fingerprints and salted markers are not key material", async () => {
  const needles = await keyNeedles("ca.key", ecCa.keyPem);
  const fingerprint = createHash("sha256").update(ecCa.certPem).digest("hex");
  const text = `${ecCa.certPem}\nfingerprint: ${fingerprint}\n` +
    `-----BEGIN EC PRIVATE KEY-----\n(masked, sha256:0123abcd)\n-----END EC PRIVATE KEY-----\n` +
    `{"key": "-----BEGIN PRIVATE KEY-----\\n(masked, sha256:89ab4567)\\n-----END PRIVATE KEY-----"}` +
    // a unified diff of a key file: armour as context, the masked body changed
    " -----BEGIN EC PRIVATE KEY-----\n-(masked, sha256:0123abcd)\n+(masked, sha256:4567cdef)\n" +
    " -----END EC PRIVATE KEY-----\n+-----BEGIN PRIVATE KEY-----\n+-----END PRIVATE KEY-----\n";
  assert.deepEqual(labels(text, needles), []);
});

for (const [kind, ca] of [["ECDSA", ecCa], ["RSA", rsaCa]] as const) {
  Deno.test(`findLeaks: every form of an ${kind} key is found`, async () => {
    const needles = await keyNeedles("ca.key", ca.keyPem);
    const der = Uint8Array.from(
      atob(ca.keyPem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "")),
      (c) => c.charCodeAt(0),
    );
    const hex = Array.from(der, (b) => b.toString(16).padStart(2, "0")).join("");
    const body = ca.keyPem.replace(/-----[A-Z ]+-----/g, "").trim();
    const sha = (data: string) => createHash("sha256").update(data).digest("hex");
    const cases: [string, string][] = [
      ["the PEM as written", ca.keyPem],
      ["one line of its body", `log: ${body.split("\n")[1]}`],
      ["the PEM in a JSON string", JSON.stringify({ key: ca.keyPem })],
      ["base64 of the PEM file (Secret data)", `tls.key: ${btoa(ca.keyPem)}`],
      ["base64 of the PEM inside a longer base64 string", btoa(`xx${ca.keyPem}`)],
      ["base64 of the DER, one line", body.replace(/\s+/g, "")],
      ["hex of the DER", `key=${hex.toUpperCase()}`],
      ["an unsalted digest prefix in a marker", `(masked, sha256:${sha(body).slice(0, 8)})`],
      ["an unsalted digest of the file", `digest ${sha(ca.keyPem)}`],
    ];
    for (const [what, text] of cases) {
      assert.ok(labels(text, needles).length > 0, `${what} is found`);
    }
    assert.ok(needles.some((needle) => needle.label.includes("private scalar as hex")));
  });
}

Deno.test("findLeaks: PEM private-key armour with a body is found even for an unknown key", () => {
  const text = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n";
  assert.deepEqual(labels(text, []), ["unmasked PRIVATE KEY armour"]);
  assert.deepEqual(labels(JSON.stringify(text), []), ["unmasked PRIVATE KEY armour"]);
  const diff = " -----BEGIN PRIVATE KEY-----\n+MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n";
  assert.deepEqual(labels(diff, []), ["unmasked PRIVATE KEY armour"]);
});

Deno.test("embeddedBase64: each alignment's run appears in base64 of the bytes behind a prefix", () => {
  const bytes = crypto.getRandomValues(new Uint8Array(100));
  const runs = embeddedBase64(bytes);
  assert.equal(runs.length, 3);
  for (const prefix of ["", "a", "ab"]) {
    const outer = btoa(prefix + String.fromCharCode(...bytes) + "tail");
    assert.ok(runs.some((run) => outer.includes(run)), `prefix of ${prefix.length}`);
  }
});

Deno.test("the masker's output holds no form of the key it masks", async () => {
  for (const ca of [ecCa, rsaCa]) {
    const needles = await keyNeedles("ca.key", ca.keyPem);
    const kubeconfig = `apiVersion: v1\nkind: Config\nusers:\n- name: a\n  user:\n` +
      `    client-key-data: ${btoa(ca.keyPem)}\n`;
    for (const text of [ca.keyPem, JSON.stringify({ key: ca.keyPem }), kubeconfig]) {
      for (const mask of [maskSecrets, maskAll]) {
        const masked = mask(text);
        assert.notEqual(masked, text, "something was masked");
        assert.deepEqual(labels(masked, needles), [], `${mask.name}: ${masked}`);
      }
    }
  }
});
