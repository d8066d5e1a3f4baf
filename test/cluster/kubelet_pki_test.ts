import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createCsr,
  fingerprint,
  issueClientCertificate,
  nodeSubject,
  pemBlocks,
  privateKeyBlock,
  rotationDeadline,
  summarizeCertificate,
} from "./kubelet_pki.ts";

async function openssl(args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(text);
  return text;
}

Deno.test("rotationDeadline is NotBefore + 70..90 % of the lifetime", () => {
  const nb = new Date("2030-01-01T00:00:00Z");
  const na = new Date("2030-01-01T00:10:00Z");
  assert.equal(rotationDeadline(nb, na, 0).toISOString(), "2030-01-01T00:07:00.000Z");
  assert.equal(rotationDeadline(nb, na, 1).toISOString(), "2030-01-01T00:09:00.000Z");
  assert.equal(rotationDeadline(nb, na, 0.5).toISOString(), "2030-01-01T00:08:00.000Z");
});

Deno.test("issueClientCertificate signs with a kubeadm-style RSA CA and openssl verifies it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await openssl([
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      "1",
      "-subj",
      "/CN=kubernetes",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ], dir);
    // kubeadm writes PKCS#1 keys
    await openssl(["rsa", "-in", "ca.key", "-out", "ca-pkcs1.key", "-traditional"], dir);
    const caCertPem = await Deno.readTextFile(join(dir, "ca.crt"));
    const caKeyPem = await Deno.readTextFile(join(dir, "ca-pkcs1.key"));
    assert.match(caKeyPem, /BEGIN RSA PRIVATE KEY/);
    const now = Date.now();
    const { certPem, keyPem } = await issueClientCertificate({
      caCertPem,
      caKeyPem,
      subject: nodeSubject("worker-1"),
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 240_000),
    });
    await Deno.writeTextFile(join(dir, "leaf.pem"), certPem);
    assert.match(
      await openssl(["verify", "-CAfile", "ca.crt", "-purpose", "sslclient", "leaf.pem"], dir),
      /OK/,
    );
    assert.ok(privateKeyBlock(keyPem));
    const summary = await summarizeCertificate(certPem, pemBlocks(caCertPem, "CERTIFICATE"));
    assert.equal(summary.subject, "O=system:nodes, CN=system:node:worker-1");
    assert.equal(summary.issuer, "CN=kubernetes");
    assert.equal(summary.issuerFingerprint, await fingerprint(caCertPem));
    assert.ok(summary.authorityKeyId);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createCsr makes an ECDSA CSR with the node subject", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { csrPem, keyPem } = await createCsr(nodeSubject("worker-2"));
    await Deno.writeTextFile(join(dir, "x.csr"), csrPem);
    const text = await openssl(["req", "-in", "x.csr", "-noout", "-verify", "-subject"], dir);
    assert.match(text, /CN ?= ?system:node:worker-2/);
    assert.match(text, /O ?= ?system:nodes/);
    assert.match(keyPem, /BEGIN PRIVATE KEY/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
