import assert from "node:assert/strict";
import { createCsr, createNodeClientCsr, parseCsr } from "./csr.ts";
import { parsePrivateKey } from "./private_key.ts";
import { decodePem, encodePem } from "./pem.ts";
import { toHex } from "./fingerprint.ts";
import { hasOpenssl, OpensslDir } from "./_test_openssl.ts";

Deno.test("createNodeClientCsr: the kubelet's client CSR", async () => {
  const created = await createNodeClientCsr("worker-1");
  assert.equal(decodePem(created.csrPem)[0].label, "CERTIFICATE REQUEST");
  assert.equal(decodePem(created.keyPem)[0].label, "EC PRIVATE KEY");
  assert.equal((created.keys.privateKey.algorithm as EcKeyAlgorithm).namedCurve, "P-256");
  const parsed = await parseCsr(created.csrPem);
  assert.equal(parsed.commonName, "system:node:worker-1");
  assert.deepEqual(parsed.organizations, ["system:nodes"]);
  assert.equal(parsed.subject, "O=system:nodes, CN=system:node:worker-1");
  const key = await parsePrivateKey(created.keyPem);
  const spki = toHex(await crypto.subtle.exportKey("spki", key.publicKey));
  assert.equal(toHex(parsed.publicKey.rawData), spki);
});

Deno.test("createCsr: SANs and a given key pair", async () => {
  const first = await createCsr({ commonName: "a", dnsNames: ["a.example"] });
  const again = await createCsr({
    commonName: "b",
    keys: first.keys,
    ipAddresses: ["10.0.0.1"],
  });
  const parsed = await parseCsr(again.csrPem);
  assert.deepEqual(parsed.ipAddresses, ["10.0.0.1"]);
  assert.deepEqual(parsed.organizations, []);
  assert.equal(
    toHex(parsed.publicKey.rawData),
    toHex((await parseCsr(first.csrPem)).publicKey.rawData),
  );
  assert.deepEqual((await parseCsr(first.csrPem)).dnsNames, ["a.example"]);
  await assert.rejects(createNodeClientCsr(""), /node name is empty/);
});

Deno.test("parseCsr: a tampered CSR is refused", async () => {
  const { csrPem } = await createNodeClientCsr("worker-2");
  const der = decodePem(csrPem)[0].der;
  // Change one byte of the subject: the signature no longer covers it.
  const text = new TextDecoder("latin1").decode(der);
  const at = text.indexOf("worker-2");
  assert.ok(at > 0);
  const tampered = der.slice();
  tampered[at + 7] = "3".charCodeAt(0);
  await assert.rejects(
    parseCsr(encodePem("CERTIFICATE REQUEST", tampered), "worker-2.csr"),
    /Cannot parse worker-2\.csr: its signature does not verify/,
  );
  await assert.rejects(parseCsr("nothing", "x.csr"), /no CERTIFICATE REQUEST block/);
});

Deno.test({
  name: "parseCsr: reads openssl CSRs, openssl verifies ours",
  ignore: !hasOpenssl,
  async fn() {
    await using dir = await OpensslDir.create();
    await dir.run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "k.key");
    await dir.run(
      "req",
      "-new",
      "-key",
      "k.key",
      "-subj",
      "/O=system:nodes/CN=system:node:cp-1",
      "-addext",
      "subjectAltName=DNS:cp-1,IP:10.0.0.5",
      "-out",
      "k.csr",
    );
    const parsed = await parseCsr(await dir.read("k.csr"));
    assert.equal(parsed.commonName, "system:node:cp-1");
    assert.deepEqual(parsed.organizations, ["system:nodes"]);
    assert.deepEqual(parsed.dnsNames, ["cp-1"]);
    assert.deepEqual(parsed.ipAddresses, ["10.0.0.5"]);

    const ours = await createNodeClientCsr("worker-3");
    await dir.write("ours.csr", ours.csrPem);
    const out = await dir.tryRun("req", "-in", "ours.csr", "-verify", "-noout", "-subject");
    assert.equal(out.success, true, out.stderr);
    assert.match(out.stdout + out.stderr, /verify OK/i);
    assert.match(out.stdout, /O\s*=\s*system:nodes, CN\s*=\s*system:node:worker-3/);
  },
});
