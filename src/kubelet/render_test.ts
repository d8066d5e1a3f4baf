import assert from "node:assert/strict";
import { at, kubeletCert, makeCas, signerIn } from "./_test_kubelet_certificates.ts";
import { caTrustFromPem, summarizeTrust } from "./ca_trust.ts";
import { buildReport } from "./build_report.ts";
import type { VerifierReport } from "./report.ts";
import { renderReportJson, renderReportText } from "./render.ts";

const cas = await makeCas();
const trust = caTrustFromPem(cas.new.certPem, cas.old.certPem);

async function sampleReport(): Promise<VerifierReport> {
  const base = { registered: true, nodeAccess: true, rotationSource: "node-file" as const };
  return await buildReport({
    facts: [
      {
        ...base,
        name: "worker-1",
        rotationEnabled: true,
        certificate: await kubeletCert(cas.new, "worker-1", at(0), at(1000)),
        certificateSource: "node-file",
        certificateOrigin: "/var/lib/kubelet/pki/kubelet-client-current.pem",
      },
      {
        ...base,
        name: "worker-2",
        rotationEnabled: true,
        certificate: await kubeletCert(cas.old, "worker-2", at(0), at(1000)),
      },
      {
        ...base,
        name: "worker-3",
        rotationEnabled: false,
        certificate: await kubeletCert(cas.old, "worker-3", at(0), at(1000)),
      },
      { ...base, name: "worker-4", nodeAccess: false, rotationSource: "none" },
    ],
    trust,
    cas: await summarizeTrust(trust),
    signer: signerIn("new"),
    now: at(100),
    deadline: at(950),
    forced: [{
      node: "worker-9",
      csr: "ca-rotator-worker-9-x",
      approvedBy: "ca-rotator",
      file: "/var/lib/kubelet/pki/kubelet-client-x.pem",
      notAfter: at(700),
    }],
  });
}

Deno.test("renderReportText: a table with one row per node, signer, notes and summary", async () => {
  const text = renderReportText(await sampleReport());
  const lines = text.trimEnd().split("\n");
  assert.match(
    lines[0],
    /^controller-manager signs kubelet client certificates with the new CA, signing duration 10m \[control-plane-1: new\]$/,
  );
  assert.match(
    lines[1],
    /^NODE\s+ROTATION\s+ISSUER\s+NOT BEFORE\s+NOT AFTER\s+WINDOW \(70-90%\)\s+VERDICT$/,
  );
  assert.match(
    lines[2],
    /^worker-1\s+on\s+new\s+2025-06-01T00:00:00Z\s+2025-06-01T00:16:40Z\s+2025-06-01T00:11:40Z\.\.2025-06-01T00:15:00Z\s+ok$/,
  );
  assert.match(lines[3], /^worker-2\s+on\s+old\s+.*will rotate by 2025-06-01T00:15:00Z$/);
  assert.match(lines[4], /^worker-3\s+off\s+old\s+.*BLOCKING rotation-off: /);
  assert.match(lines[5], /^worker-4\s+\?\s+-\s+-\s+-\s+-\s+BLOCKING no-certificate: /);
  // columns line up
  const col = lines[1].indexOf("ISSUER");
  for (const line of lines.slice(2, 6)) assert.match(line.slice(col), /^(new|old|-)\s/);
  assert.ok(lines.includes("notes:"));
  assert.ok(text.includes("  worker-4: rotateCertificates could not be read"));
  assert.ok(
    text.includes("forced rotation: worker-9 got /var/lib/kubelet/pki/kubelet-client-x.pem"),
  );
  assert.ok(
    text.includes(
      "4 node(s): 1 ok, 1 will rotate, 2 blocking; deadline 2025-06-01T00:15:50Z; gate closed",
    ),
  );
  assert.match(lines.at(-1)!, /^3 of 4 kubelet\(s\) do not authenticate/);
  assert.doesNotMatch(text, /PRIVATE KEY/);
});

Deno.test("renderReportJson: a document CI can consume", async () => {
  const doc = JSON.parse(renderReportJson(await sampleReport()));
  assert.equal(doc.gateOpen, false);
  assert.match(doc.gateMessage, /worker-3 \(rotation-off/);
  assert.deepEqual(doc.summary, { nodes: 4, ok: 1, willRotate: 1, blocking: 2 });
  assert.equal(doc.deadline, "2025-06-01T00:15:50.000Z");
  assert.equal(doc.signer.state, "new");
  assert.equal(doc.cas.new[0].subject, "CN=kubernetes");
  const [w1, w2, w3, w4] = doc.nodes;
  assert.equal(w1.certificate.issuer, "new");
  assert.equal(w1.certificate.source, "node-file");
  assert.equal(w1.certificate.notBefore, "2025-06-01T00:00:00.000Z");
  assert.deepEqual(w1.window, {
    earliest: "2025-06-01T00:11:40.000Z",
    latest: "2025-06-01T00:15:00.000Z",
  });
  assert.deepEqual(w1.verdict, { status: "ok", message: "issued by the new CA" });
  assert.equal(w2.verdict.status, "will-rotate");
  assert.equal(w2.verdict.by, "2025-06-01T00:15:00.000Z");
  assert.deepEqual(
    { status: w3.verdict.status, reason: w3.verdict.reason, forceable: w3.verdict.forceable },
    { status: "blocking", reason: "rotation-off", forceable: true },
  );
  assert.equal(w4.certificate, null);
  assert.equal(w4.rotation.enabled, null);
  assert.equal(w4.verdict.forceable, false);
  assert.equal(doc.forced[0].notAfter, "2025-06-01T00:11:40.000Z");
});

Deno.test("renderReportText: the printed window holds every deadline of a window that does not end on a whole second", async () => {
  // 121 s lifetime: the kubelet draws its deadline in [84.7 s, 108.9 s) after NotBefore.
  const report = await buildReport({
    facts: [{
      registered: true,
      nodeAccess: true,
      rotationSource: "node-file",
      name: "worker-1",
      rotationEnabled: true,
      certificate: await kubeletCert(cas.old, "worker-1", at(0), at(121)),
    }],
    trust,
    cas: await summarizeTrust(trust),
    signer: signerIn("new"),
    now: at(10),
    deadline: at(200),
    forced: [],
  });
  const row = renderReportText(report).split("\n")[2];
  // earliest rounded down (84.7 → 84), latest up (108.9 → 109)
  assert.match(
    row,
    /\s2025-06-01T00:01:24Z\.\.2025-06-01T00:01:49Z\s+will rotate by 2025-06-01T00:01:49Z$/,
  );
});
