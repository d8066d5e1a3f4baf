import assert from "node:assert/strict";
import {
  certificateFieldsOf,
  fingerprint,
  generateCa,
  type GeneratedCa,
  parseCertificate,
  signingAlgorithm,
  x509,
} from "../pki/mod.ts";
import { at, csrObject, makeCas, signerIn } from "./_test_kubelet_certificates.ts";
import { buildReport, summarize } from "./build_report.ts";
import { type CaTrust, caTrustFromPem, classifyIssuer, issuerByKeyId } from "./ca_trust.ts";
import { CertificateCache } from "./certificate_cache.ts";
import { type CsrObject, indexKubeletCsrs } from "./csr_index.ts";
import { nodeFacts } from "./node_facts.ts";
import { renderReportJson, renderReportText } from "./render.ts";
import type { NodeReport, VerifierReport } from "./report.ts";
import { assessNode } from "./verdict.ts";

const cas = await makeCas(); // ECDSA old, new and a foreign CA
const rsaOld = await generateCa({ keyType: "rsa-2048" }); // kubeadm's default CA key
const foreign = await generateCa({ keyType: "ecdsa-p256" }); // also named "kubernetes"
const leafKeys = await crypto.subtle.generateKey(
  { name: "ECDSA", namedCurve: "P-256" },
  true,
  ["sign", "verify"],
);
const skiOf = (ca: GeneratedCa) => ca.cert.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;

/** A CA named "kubernetes" whose subject key id is another CA's (a different key). */
async function caWithKeyId(keyId: string): Promise<GeneratedCa> {
  const keys = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: "CN=kubernetes",
    keys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    notBefore: at(-100_000),
    notAfter: at(100_000),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.SubjectKeyIdentifierExtension(keyId),
    ],
  });
  return {
    cert,
    certPem: cert.toString("pem"),
    keyPem: "",
    keys,
    privateKey: keys.privateKey,
  };
}

/** How a test certificate is made: its signer and the issuer and key id it claims. */
interface Make {
  readonly label: string;
  readonly signer: GeneratedCa;
  /** The issuer name written. Default: the signer's subject. */
  readonly issuer?: string;
  /** The authority key id written; `null` for none. Default: the signer's subject key id. */
  readonly aki?: string | null;
  readonly commonName?: (node: string) => string;
}

/**
 * Validity variants (now 1000 s, deadline 1500 s): before the window, in it, due, expired, not
 * yet valid, and a window that ends before the deadline.
 */
const VALIDITY: [string, number, number][] = [
  ["before-window", 900, 1900],
  ["in-window", 0, 1300],
  ["due", 0, 1050],
  ["expired", 0, 999],
  ["not-yet-valid", 1100, 2100],
  ["by-deadline", 0, 1400],
];

let serial = 1;
async function certificatePem(make: Make, node: string, from: number, to: number) {
  const aki = make.aki === undefined ? skiOf(make.signer) : make.aki;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(4, "0"),
    subject: `O=system:nodes, CN=${make.commonName?.(node) ?? `system:node:${node}`}`,
    issuer: make.issuer ?? make.signer.cert.subject,
    publicKey: leafKeys.publicKey,
    signingKey: make.signer.privateKey,
    signingAlgorithm: signingAlgorithm(make.signer.privateKey),
    notBefore: at(from),
    notAfter: at(to),
    extensions: aki === null ? [] : [new x509.AuthorityKeyIdentifierExtension(aki)],
  });
  return cert.toString("pem");
}

/** One node per kind of certificate and validity, some with a newer pending or denied CSR. */
async function nodeSet(makes: readonly Make[]): Promise<CsrObject[]> {
  const csrs: CsrObject[] = [];
  for (const make of makes) {
    for (const [i, [timing, from, to]] of VALIDITY.entries()) {
      const node = `${make.label}-${timing}`;
      csrs.push(csrObject({
        name: `csr-${node}`,
        node,
        created: at(from),
        state: "issued",
        certPem: await certificatePem(make, node, from, to),
      }));
      if (i === 1 || i === 2) {
        csrs.push(csrObject({
          name: `csr-${node}-next`,
          node,
          created: at(from + 950),
          state: i === 1 ? "pending" : "denied",
        }));
      }
    }
  }
  csrs.push(
    csrObject({ name: "csr-none", node: "no-certificate", created: at(0), state: "pending" }),
  );
  return csrs;
}

const context = { now: at(1000), deadline: at(1500), signer: signerIn("new") };
const rotation = (name: string) =>
  name.endsWith("in-window") && name.startsWith("old")
    ? { enabled: false, source: "configz" as const }
    : { enabled: true, source: "configz" as const };

/** The new path: the DER reader and key ids (signatures where they do not decide), cached. */
async function newPath(
  csrs: CsrObject[],
  trust: CaTrust,
  certificates: CertificateCache,
): Promise<VerifierReport> {
  const index = indexKubeletCsrs(csrs);
  const facts = [...index].map(([name, nodeCsrs]) =>
    nodeFacts({
      name,
      registered: true,
      rotation: rotation(name),
      csrs: nodeCsrs,
      read: (pem, source) => certificates.read(pem, source),
    })
  );
  return await buildReport({
    ...context,
    facts,
    trust,
    cas: { new: [], old: [] },
    certificates,
  });
}

/** The path before: `@peculiar/x509` parses, every issuer decided by signature. */
async function oldPath(csrs: CsrObject[], trust: CaTrust): Promise<NodeReport[]> {
  const index = indexKubeletCsrs(csrs);
  const nodes = await Promise.all([...index].map(async ([name, nodeCsrs]) => {
    const facts = nodeFacts({
      name,
      registered: true,
      rotation: rotation(name),
      csrs: nodeCsrs,
      read: (pem, source) => certificateFieldsOf(parseCertificate(pem, source)),
    });
    if (!facts.certificate) return assessNode(facts, undefined, undefined, context);
    const cert = parseCertificate(nodeCsrs.newestIssued!.certificatePem!);
    const print = await fingerprint(cert);
    return assessNode(facts, await classifyIssuer(cert, trust, print), print, context);
  }));
  return nodes.sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
}

Deno.test("the fast path's verdicts are the signature path's, certificate for certificate", async () => {
  const sameKeyIdCa = await caWithKeyId(skiOf(rsaOld));
  const random = "0123456789abcdef0123456789abcdef01234567";
  const runs: { trust: CaTrust; makes: Make[] }[] = [
    {
      trust: caTrustFromPem(cas.new.certPem, rsaOld.certPem),
      makes: [
        { label: "old", signer: rsaOld },
        { label: "new", signer: cas.new },
        { label: "foreign", signer: foreign },
        { label: "other-name", signer: cas.other },
        { label: "old-random-aki", signer: rsaOld, aki: random },
        { label: "old-foreign-aki", signer: rsaOld, aki: skiOf(foreign) },
        { label: "new-no-aki", signer: cas.new, aki: null },
        { label: "foreign-no-aki", signer: foreign, aki: null },
        { label: "new-aki-other-issuer", signer: cas.new, issuer: "CN=someone-else" },
        { label: "bootstrap", signer: cas.new, commonName: () => "system:bootstrap:abcdef" },
      ],
    },
    // the old CA unknown: its certificates are of no CA of the trust
    {
      trust: caTrustFromPem(cas.new.certPem),
      makes: [{ label: "old", signer: cas.old }, { label: "new", signer: cas.new }],
    },
    // two CAs of the trust with one key id and different keys: the key id does not decide
    {
      trust: caTrustFromPem(sameKeyIdCa.certPem, rsaOld.certPem),
      makes: [{ label: "old", signer: rsaOld }, { label: "new", signer: sameKeyIdCa }],
    },
  ];
  const reasons = new Set<string>();
  for (const [r, { trust, makes }] of runs.entries()) {
    const csrs = await nodeSet(makes);
    const before = await oldPath(csrs, trust);
    const certificates = new CertificateCache(trust);
    const report = await newPath(csrs, trust, certificates);
    const expected: VerifierReport = {
      ...report,
      nodes: before,
      summary: summarize(before),
      gateOpen: before.every((n) => n.verdict.status === "ok"),
    };
    assert.equal(renderReportJson(report), renderReportJson(expected), `trust ${r}`);
    assert.equal(renderReportText(report), renderReportText(expected), `trust ${r}`);
    for (const node of before) {
      reasons.add(node.verdict.status === "blocking" ? node.verdict.reason : node.verdict.status);
    }
    // a second round (a wait's) reads and classifies nothing again, and says the same
    const counts = { ...certificates.counts };
    assert.equal(counts.read, makes.length * VALIDITY.length);
    assert.equal(counts.byKeyId + counts.bySignature, counts.read);
    const again = await newPath(csrs, trust, certificates);
    assert.deepEqual(certificates.counts, counts);
    assert.equal(renderReportJson(again), renderReportJson(report));
    if (r === 0) {
      // old, new and bootstrap by key id; every other kind by signature
      assert.equal(counts.byKeyId, 3 * VALIDITY.length);
    }
    if (r === 2) assert.equal(counts.byKeyId, 0);
  }
  for (
    const reason of [
      "ok",
      "will-rotate",
      "unknown-issuer",
      "expired",
      "rotation-off",
      "csr-pending",
      "csr-denied",
      "window-after-deadline",
    ]
  ) {
    assert.ok(reasons.has(reason), `no node set covers ${reason}: ${[...reasons]}`);
  }
});

Deno.test("issuerByKeyId: a key id naming a CA that did not sign decides without a signature", async () => {
  // The one difference from the signature path, documented on issuerByKeyId: the old CA's key
  // signed, but key id and issuer name are the new CA's. Go's crypto/x509 and ca-rotator never
  // write such a certificate; the signature path still says which key signed.
  const trust = caTrustFromPem(cas.new.certPem, cas.old.certPem);
  const pem = await certificatePem(
    { label: "forged", signer: cas.old, aki: skiOf(cas.new) },
    "n",
    0,
    1000,
  );
  const cert = parseCertificate(pem);
  assert.equal(issuerByKeyId(certificateFieldsOf(cert), trust), "new");
  assert.equal(await classifyIssuer(cert, trust), "old");
});

Deno.test("CertificateCache forgets its oldest certificates beyond its limit", async () => {
  const trust = caTrustFromPem(cas.new.certPem, cas.old.certPem);
  const certificates = new CertificateCache(trust, 2);
  const pems = await Promise.all(
    ["a", "b", "c"].map((n) => certificatePem({ label: n, signer: cas.new }, n, 0, 1000)),
  );
  for (const pem of pems) certificates.read(pem, "test");
  certificates.read(pems[2], "test");
  assert.equal(certificates.counts.read, 3);
  certificates.read(pems[0], "test"); // forgotten: read again
  assert.equal(certificates.counts.read, 4);
  assert.throws(() => certificates.read("garbage", "CSR x"), /^Error: Cannot parse CSR x/);
});
