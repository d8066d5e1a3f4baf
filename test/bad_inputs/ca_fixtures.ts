/**
 * The "new CA" files of the bad-input corpus: one good CA and every way a given CA can be
 * unusable, written by openssl (an implementation independent of ca-rotator's), except the
 * validity windows in the past and future, which openssl 3.0's `req` cannot set.
 * @module
 */
import { join } from "node:path";
import { generateCa } from "../../src/pki/mod.ts";

const DAY = 24 * 60 * 60 * 1000;

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdin: "null" }).output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * Writes the fixtures into `dir`: `ca.crt`/`ca.key` (a good CA), `other.key` (another CA's
 * key), `leaf.crt`/`leaf.key`, `expired.*`, `future.*`, `rsa1024.*`, `ca.pkcs8-encrypted.key`,
 * `ca.legacy-encrypted.key`, `ca.truncated.crt`, `ca.truncated.key`, `empty`; an intermediate
 * CA with its chain (`chain.crt`: the intermediate, then its root; `intermediate.key`),
 * `stranger.crt` (`ca.crt` followed by another CA that did not sign it), `nosign.*` (keyUsage
 * without keyCertSign), `noski.*` (no subjectKeyIdentifier), `short.*` (100 days: shorter
 * than the plan's one-year leaves).
 */
export async function writeCaFixtures(dir: string): Promise<void> {
  const ca = (name: string, key: string, extra: string[] = []) =>
    openssl(
      dir,
      "req",
      "-x509",
      "-newkey",
      key,
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.crt`,
      "-subj",
      `/CN=${name}`,
      "-days",
      "3650",
      ...extra,
    ); // deno-fmt-ignore
  const p256 = ["-pkeyopt", "ec_paramgen_curve:P-256"];
  const caExtensions = [
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  ]; // deno-fmt-ignore
  await ca("ca", "ec", [...p256, ...caExtensions]);
  await ca("other", "ec", [...p256, ...caExtensions]);
  await ca("rsa1024", "rsa:1024", caExtensions);
  await ca("root", "ec", [...p256, ...caExtensions]);
  await ca("nosign", "ec", [
    ...p256,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,cRLSign,digitalSignature",
  ]); // deno-fmt-ignore
  await ca("noski", "ec", [...p256, ...caExtensions, "-addext", "subjectKeyIdentifier=none"]);
  await ca("short", "ec", [...p256, ...caExtensions, "-days", "100"]);
  await openssl(
    dir,
    "req",
    "-newkey",
    "ec",
    ...p256,
    "-nodes",
    "-keyout",
    "intermediate.key",
    "-out",
    "intermediate.csr",
    "-subj",
    "/CN=intermediate",
  ); // deno-fmt-ignore
  await Deno.writeTextFile(
    join(dir, "intermediate.ext"),
    "basicConstraints=critical,CA:TRUE,pathlen:0\n" +
      "keyUsage=critical,keyCertSign,cRLSign,digitalSignature\n" +
      "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
  );
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    "intermediate.csr",
    "-CA",
    "root.crt",
    "-CAkey",
    "root.key",
    "-CAcreateserial",
    "-out",
    "intermediate.crt",
    "-days",
    "1825",
    "-extfile",
    "intermediate.ext",
  ); // deno-fmt-ignore
  await openssl(
    dir,
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "leaf.key",
    "-out",
    "leaf.csr",
    "-subj",
    "/CN=leaf",
  ); // deno-fmt-ignore
  await openssl(
    dir, "x509", "-req", "-in", "leaf.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
    "-CAcreateserial", "-out", "leaf.crt", "-days", "30",
  ); // deno-fmt-ignore
  await openssl(
    dir, "pkcs8", "-topk8", "-in", "ca.key", "-out", "ca.pkcs8-encrypted.key", "-v2", "aes256",
    "-passout", "pass:secret",
  ); // deno-fmt-ignore
  await openssl(
    dir, "ec", "-in", "ca.key", "-out", "ca.legacy-encrypted.key", "-aes256",
    "-passout", "pass:secret",
  ); // deno-fmt-ignore
  const write = (name: string, text: string) => Deno.writeTextFile(join(dir, name), text);
  const caCert = await Deno.readTextFile(join(dir, "ca.crt"));
  const caKey = await Deno.readTextFile(join(dir, "ca.key"));
  await write("ca.truncated.crt", caCert.slice(0, Math.floor(caCert.length / 2)));
  await write("ca.truncated.key", caKey.slice(0, Math.floor(caKey.length / 2)));
  await write("empty", "");
  const read = (name: string) => Deno.readTextFile(join(dir, name));
  await write("chain.crt", (await read("intermediate.crt")) + (await read("root.crt")));
  await write("stranger.crt", caCert + (await read("other.crt")));
  for (
    const [name, notBefore, notAfter] of [
      ["expired", -30 * DAY, -DAY],
      ["future", DAY, 30 * DAY],
    ] as const
  ) {
    const generated = await generateCa({
      commonName: name,
      keyType: "ecdsa-p256",
      notBefore: new Date(Date.now() + notBefore),
      notAfter: new Date(Date.now() + notAfter),
    });
    await write(`${name}.crt`, generated.certPem);
    await write(`${name}.key`, generated.keyPem);
  }
}
