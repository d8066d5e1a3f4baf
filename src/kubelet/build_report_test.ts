import assert from "node:assert/strict";
import { at, type Cas, kubeletCert, makeCas, signerIn } from "./_test_kubelet_certificates.ts";
import { buildReport } from "./build_report.ts";
import { caTrustFromPem, summarizeTrust } from "./ca_trust.ts";
import { forceableNodes, gateMessage, worthWaiting } from "./gate.ts";

const cas: Cas = await makeCas();
const trust = caTrustFromPem(cas.new.certPem, cas.old.certPem);
const summary = await summarizeTrust(trust);

Deno.test("buildReport sorts nodes, counts verdicts and says whether the gate is open", async () => {
  const cert = (ca: typeof cas.old, name: string) => kubeletCert(ca, name, at(0), at(1000));
  const base = { registered: true, nodeAccess: true, rotationSource: "configz" as const };
  const report = await buildReport({
    facts: [
      {
        ...base,
        name: "worker-10",
        rotationEnabled: true,
        certificate: await cert(cas.new, "worker-10"),
      },
      {
        ...base,
        name: "worker-2",
        rotationEnabled: false,
        certificate: await cert(cas.old, "worker-2"),
      },
      {
        ...base,
        name: "worker-1",
        rotationEnabled: true,
        certificate: await cert(cas.old, "worker-1"),
      },
      {
        ...base,
        name: "worker-3",
        nodeAccess: false,
        rotationEnabled: true,
        certificate: await cert(cas.old, "worker-3"),
      },
    ],
    trust,
    cas: summary,
    signer: signerIn("new"),
    now: at(100),
    deadline: at(950),
  });
  assert.deepEqual(report.nodes.map((n) => n.name), [
    "worker-1",
    "worker-2",
    "worker-3",
    "worker-10",
  ]);
  assert.deepEqual(report.summary, { nodes: 4, ok: 1, willRotate: 2, blocking: 1 });
  assert.equal(report.gateOpen, false);
  assert.deepEqual(forceableNodes(report), ["worker-2"]);
  assert.equal(worthWaiting(report), true);
  const message = gateMessage(report)!;
  assert.match(message, /^3 of 4 kubelet\(s\) do not authenticate/);
  assert.match(message, /blocking: worker-2 \(rotation-off: /);
  assert.match(message, /rotating: worker-1 \(will rotate by 2025-06-01T00:15:00Z\), worker-3/);
  assert.match(message, /--force-rotation .*: worker-2$/);

  const open = await buildReport({
    facts: [{
      ...base,
      name: "worker-10",
      rotationEnabled: true,
      certificate: await cert(cas.new, "worker-10"),
    }],
    trust,
    cas: summary,
    signer: signerIn("new"),
    now: at(100),
    deadline: at(100),
  });
  assert.equal(open.gateOpen, true);
  assert.equal(gateMessage(open), undefined);
  assert.equal(worthWaiting(open), false);
});
