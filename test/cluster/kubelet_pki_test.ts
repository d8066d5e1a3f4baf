import assert from "node:assert/strict";
import { join } from "node:path";
import { issueClientCertificate, nodeSubject, privateKeyBlock } from "./kubelet_pki.ts";

async function openssl(args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(text);
  return text;
}

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
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
