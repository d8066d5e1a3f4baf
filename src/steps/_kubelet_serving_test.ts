import assert from "node:assert/strict";
import { createCsr } from "../pki/mod.ts";
import { encodeBase64Text, KUBELET_SERVING_SIGNER, type NodeObject } from "../kubelet/mod.ts";
import { approvalDecisions, FORCED_NODE_LABEL, kubeletEndpoint } from "./_kubelet_serving.ts";

const worker: NodeObject = {
  metadata: { name: "worker-1" },
  status: {
    addresses: [
      { type: "Hostname", address: "worker-1" },
      { type: "InternalIP", address: "198.18.1.21" },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
  },
};
const nodes = new Map([["worker-1", worker]]);

async function csr(
  name: string,
  username: string,
  names: { dnsNames?: string[]; ipAddresses?: string[] },
  extra: { approved?: boolean; label?: string } = {},
) {
  const { csrPem } = await createCsr({
    commonName: "system:node:worker-1",
    organizations: ["system:nodes"],
    ...names,
  });
  return {
    metadata: { name, ...(extra.label ? { labels: { [FORCED_NODE_LABEL]: extra.label } } : {}) },
    spec: {
      request: encodeBase64Text(csrPem),
      signerName: KUBELET_SERVING_SIGNER,
      username,
      groups: ["system:nodes"],
      usages: ["digital signature", "server auth"],
    },
    ...(extra.approved ? { status: { conditions: [{ type: "Approved", status: "True" }] } } : {}),
  };
}

Deno.test("the kubelet endpoint is the InternalIP and the published port", () => {
  assert.deepEqual(kubeletEndpoint(worker), { host: "198.18.1.21", port: 10250 });
  assert.equal(
    kubeletEndpoint({ ...worker, status: { addresses: worker.status!.addresses } }),
    undefined,
  );
});

Deno.test("only pending CSRs for the Node's own names pass; the others are named with why", async () => {
  const decisions = await approvalDecisions([
    await csr("own", "system:node:worker-1", {
      dnsNames: ["worker-1"],
      ipAddresses: ["198.18.1.21"],
    }),
    await csr("foreign-ip", "system:node:worker-1", { ipAddresses: ["198.18.1.1"] }),
    await csr("ghost", "system:node:worker-9", { dnsNames: ["worker-9"] }),
    await csr("someone", "bob", { dnsNames: ["worker-1"] }),
    await csr("done", "system:node:worker-1", { dnsNames: ["worker-1"] }, { approved: true }),
  ], nodes);
  assert.deepEqual(decisions.map((d) => [d.csr, d.problem ?? "ok"]), [
    ["own", "ok"],
    ["foreign-ip", "IP addresses 198.18.1.1 are not addresses of Node worker-1 (198.18.1.21)"],
    ["ghost", "no Node named worker-9"],
    ["someone", 'requested by "bob", not a node'],
  ]);
});

Deno.test("a forced CSR sent with ca-rotator's credentials passes only as ca-rotator's own", async () => {
  const ours = await csr("forced", "admin", { ipAddresses: ["198.18.1.21"] }, {
    label: "worker-1",
  });
  assert.equal((await approvalDecisions([ours], nodes, new Set(["forced"])))[0].problem, undefined);
  assert.match(
    (await approvalDecisions([ours], nodes))[0].problem!,
    /requested by "admin", not a node/,
  );
});
