import assert from "node:assert/strict";
import { at, type Cas, kubeletCert, makeCas, signerIn } from "./_test_kubelet_certificates.ts";
import { buildReport } from "./build_report.ts";
import { caTrustFromPem, summarizeTrust } from "./ca_trust.ts";
import type { NodeFacts, NodeReport } from "./report.ts";
import type { SignerReport } from "./signer.ts";

const cas: Cas = await makeCas();
const trust = caTrustFromPem(cas.new.certPem, cas.old.certPem);
const summary = await summarizeTrust(trust);

/** Builds a one-node report at `now` (seconds) with `deadline` (seconds). */
async function assess(
  facts: Partial<NodeFacts> & { name?: string },
  now: number,
  deadline = now,
  signer: SignerReport = signerIn("new"),
): Promise<NodeReport> {
  const report = await buildReport({
    facts: [{
      name: "worker-1",
      registered: true,
      nodeAccess: true,
      rotationEnabled: true,
      rotationSource: "node-file",
      ...facts,
    }],
    trust,
    cas: summary,
    signer,
    now: at(now),
    deadline: at(deadline),
  });
  return report.nodes[0];
}

// certificates valid 0 s … 1000 s: window 700 s … 900 s
const oldCert = await kubeletCert(cas.old, "worker-1", at(0), at(1000));
const newCert = await kubeletCert(cas.new, "worker-1", at(0), at(1000));
const foreign = await kubeletCert(cas.other, "worker-1", at(0), at(1000));

Deno.test("a new-CA certificate is ok", async () => {
  const node = await assess({ certificate: newCert }, 100);
  assert.equal(node.verdict.status, "ok");
  assert.equal(node.certificate?.issuer, "new");
  assert.deepEqual(node.window, { earliest: at(700), latest: at(900) });
  assert.equal(node.timing, "before-window");
  assert.match(node.certificate!.fingerprint, /^[0-9a-f]{64}$/);
});

Deno.test("a new-CA certificate with rotation off is ok, with a note", async () => {
  const node = await assess({ certificate: newCert, rotationEnabled: false }, 100);
  assert.equal(node.verdict.status, "ok");
  assert.match(node.notes.join("\n"), /rotation is off/);
});

Deno.test("an old-CA certificate whose window ends by the deadline will rotate", async () => {
  const node = await assess({ certificate: oldCert }, 100, 950);
  assert.equal(node.verdict.status, "will-rotate");
  assert.deepEqual(node.verdict.status === "will-rotate" && node.verdict.by, at(900));
  assert.equal(node.certificate?.issuer, "old");
});

Deno.test("an old-CA certificate past 90 % rotates now", async () => {
  const node = await assess({ certificate: oldCert }, 950);
  assert.equal(node.verdict.status, "will-rotate");
  assert.equal(node.timing, "due");
  assert.equal(node.verdict.message, "rotation due now");
});

Deno.test("an old-CA certificate whose window is after the deadline blocks (not waitable)", async () => {
  const node = await assess({ certificate: oldCert }, 100, 600);
  assert.equal(node.verdict.status, "blocking");
  if (node.verdict.status !== "blocking") return;
  assert.equal(node.verdict.reason, "window-after-deadline");
  assert.equal(node.verdict.waitable, false);
  assert.equal(node.verdict.forceable, true);
});

Deno.test("a window straddling the deadline blocks but is worth waiting for", async () => {
  const node = await assess({ certificate: oldCert }, 100, 800);
  assert.equal(node.verdict.status, "blocking");
  if (node.verdict.status !== "blocking") return;
  assert.equal(node.verdict.reason, "window-after-deadline");
  assert.equal(node.verdict.waitable, true);
  assert.match(node.verdict.message, /falls inside/);
});

Deno.test("rotation off with an old-CA certificate blocks", async () => {
  const node = await assess({ certificate: oldCert, rotationEnabled: false }, 100, 950);
  assert.equal(node.verdict.status, "blocking");
  assert.equal(node.verdict.status === "blocking" && node.verdict.reason, "rotation-off");
  assert.equal(node.rotation.enabled, false);
});

Deno.test("an expired certificate blocks, old or new CA", async () => {
  for (const certificate of [oldCert, newCert]) {
    const node = await assess({ certificate }, 1001);
    assert.equal(node.verdict.status === "blocking" && node.verdict.reason, "expired");
  }
});

Deno.test("a certificate of neither CA blocks as unknown issuer", async () => {
  const node = await assess({ certificate: foreign }, 100, 950);
  assert.equal(node.certificate?.issuer, "unknown");
  assert.equal(node.verdict.status === "blocking" && node.verdict.reason, "unknown-issuer");
});

Deno.test("the controller-manager still signing with the old CA blocks and is not forceable", async () => {
  const node = await assess({ certificate: oldCert }, 950, 950, signerIn("old"));
  assert.equal(node.verdict.status, "blocking");
  if (node.verdict.status !== "blocking") return;
  assert.equal(node.verdict.reason, "signer-old-ca");
  assert.equal(node.verdict.forceable, false);
});

Deno.test("a mixed signer is noted", async () => {
  const node = await assess({ certificate: oldCert }, 950, 950, signerIn("mixed"));
  assert.equal(node.verdict.status, "will-rotate");
  assert.match(node.notes.join("\n"), /disagree/);
});

Deno.test("a pending or denied rotation CSR blocks an old-CA node", async () => {
  const pending = await assess({
    certificate: oldCert,
    openCsr: {
      name: "csr-1",
      state: "pending",
      created: at(950).toISOString(),
      requester: "system:node:worker-1",
    },
  }, 960);
  assert.equal(pending.verdict.status === "blocking" && pending.verdict.reason, "csr-pending");
  assert.equal(pending.verdict.status === "blocking" && pending.verdict.waitable, true);
  assert.equal(pending.openCsr?.name, "csr-1");
  const denied = await assess({
    certificate: oldCert,
    openCsr: {
      name: "csr-2",
      state: "denied",
      created: at(950).toISOString(),
      requester: "system:node:worker-1",
      detail: "Nope: denied by test",
    },
  }, 960);
  assert.equal(denied.verdict.status === "blocking" && denied.verdict.reason, "csr-denied");
  assert.match(denied.verdict.message, /csr-2 was denied \(Nope: denied by test\)/);
});

Deno.test("no certificate at all blocks; a pending CSR is waitable", async () => {
  const none = await assess({}, 100);
  assert.equal(none.verdict.status === "blocking" && none.verdict.reason, "no-certificate");
  const pending = await assess({
    openCsr: { name: "csr-9", state: "pending", created: at(90).toISOString(), requester: "x" },
  }, 100);
  assert.equal(pending.verdict.status === "blocking" && pending.verdict.reason, "csr-pending");
});

Deno.test("a bootstrap certificate (not the node's own subject) rotates at once", async () => {
  const bootstrap = await kubeletCert(
    cas.old,
    "worker-1",
    at(0),
    at(86400),
    "system:bootstrap:abcdef",
  );
  const node = await assess({ certificate: bootstrap }, 60);
  assert.equal(node.timing, "bootstrap");
  assert.equal(node.verdict.status, "will-rotate");
  assert.match(node.notes.join("\n"), /bootstrap certificate/);
  // worker-10's certificate is not worker-1's
  const other = await kubeletCert(cas.old, "worker-10", at(0), at(1000));
  assert.equal((await assess({ certificate: other }, 100, 950)).timing, "bootstrap");
});

Deno.test("NotBefore in the future is reported as clock skew", async () => {
  const skewed = await kubeletCert(cas.new, "worker-1", at(300), at(1300));
  const node = await assess({ certificate: skewed }, 0);
  assert.equal(node.verdict.status, "ok");
  assert.match(node.notes.join("\n"), /5m in the future: clock skew/);
});

Deno.test("unknown rotation setting and unregistered nodes are noted", async () => {
  const node = await assess(
    { certificate: oldCert, rotationEnabled: undefined, rotationSource: "none", registered: false },
    100,
    950,
  );
  assert.equal(node.verdict.status, "will-rotate");
  assert.match(node.notes.join("\n"), /could not be read/);
  assert.match(node.notes.join("\n"), /no Node object/);
});
