/**
 * Test helpers for the PKI tests: run `openssl` (an independent implementation used to make
 * kubeadm-format fixtures and to cross-check our output) in a temporary directory.
 * Nothing here prints key material.
 * @module
 */
import "./crypto_provider.ts";

/** Whether an `openssl` binary is available; tests that need it are ignored otherwise. */
export const hasOpenssl: boolean = (() => {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

/** The result of an openssl run. */
export interface OpensslResult {
  success: boolean;
  stdout: string;
  stderr: string;
}

/** A temporary directory in which openssl runs. */
export class OpensslDir {
  constructor(readonly path: string) {}

  /** Creates a fresh temporary directory. */
  static async create(): Promise<OpensslDir> {
    return new OpensslDir(await Deno.makeTempDir({ prefix: "pki_test_" }));
  }

  /** Runs openssl in the directory, without throwing. */
  async tryRun(...args: string[]): Promise<OpensslResult> {
    const out = await new Deno.Command("openssl", { args, cwd: this.path, stdin: "null" })
      .output();
    const dec = new TextDecoder();
    return { success: out.success, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  }

  /** Runs openssl in the directory; throws with its stderr (never stdout) on failure. */
  async run(...args: string[]): Promise<string> {
    const out = await this.tryRun(...args);
    if (!out.success) throw new Error(`openssl ${args[0]} failed: ${out.stderr}`);
    return out.stdout;
  }

  /** Writes a file in the directory. */
  async write(name: string, text: string): Promise<void> {
    await Deno.writeTextFile(`${this.path}/${name}`, text);
  }

  /** Reads a file of the directory. */
  async read(name: string): Promise<string> {
    return await Deno.readTextFile(`${this.path}/${name}`);
  }

  /** Reads a binary file of the directory. */
  async readBytes(name: string): Promise<Uint8Array<ArrayBuffer>> {
    return await Deno.readFile(`${this.path}/${name}`) as Uint8Array<ArrayBuffer>;
  }

  /** Removes the directory. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Deno.remove(this.path, { recursive: true });
  }
}

/** The SANs given to the kubeadm-like leaf made by {@link makeOpensslCaAndLeaf}. */
export const LEAF_SANS = {
  dnsNames: ["kubernetes", "kubernetes.default.svc.cluster.local", "cp-1"],
  ipAddresses: ["10.96.0.1", "192.168.1.10"],
  uris: ["spiffe://cluster.local/ns/kube-system/sa/apiserver"],
  emails: ["apiserver@example.com"],
};

/**
 * Makes, with openssl, a kubeadm-like CA (`ca.crt`, `ca.key` as PKCS#1, CN=kubernetes) and a
 * leaf signed by it (`leaf.crt`, `leaf.key` as PKCS#1) with subject
 * `O=system:masters, CN=kube-apiserver`, SANs {@link LEAF_SANS}, keyUsage digitalSignature and
 * keyEncipherment (critical), extKeyUsage serverAuth and clientAuth, CA:false.
 */
export async function makeOpensslCaAndLeaf(dir: OpensslDir): Promise<void> {
  await dir.run("genrsa", "-traditional", "-out", "ca.key", "2048");
  await dir.run(
    "req",
    "-x509",
    "-new",
    "-key",
    "ca.key",
    "-subj",
    "/CN=kubernetes",
    "-days",
    "3650",
    "-out",
    "ca.crt",
  );
  await dir.run("genrsa", "-traditional", "-out", "leaf.key", "2048");
  await dir.run(
    "req",
    "-new",
    "-key",
    "leaf.key",
    "-subj",
    "/O=system:masters/CN=kube-apiserver",
    "-out",
    "leaf.csr",
  );
  const s = LEAF_SANS;
  await dir.write(
    "leaf.ext",
    [
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth,clientAuth",
      "basicConstraints=critical,CA:FALSE",
      "authorityKeyIdentifier=keyid",
      "subjectAltName=" + [
        ...s.dnsNames.map((n) => `DNS:${n}`),
        ...s.ipAddresses.map((n) => `IP:${n}`),
        ...s.uris.map((n) => `URI:${n}`),
        ...s.emails.map((n) => `email:${n}`),
      ].join(","),
      "",
    ].join("\n"),
  );
  await dir.run(
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-set_serial",
    "4242",
    "-days",
    "365",
    "-extfile",
    "leaf.ext",
    "-out",
    "leaf.crt",
  );
}
