import assert from "node:assert/strict";
import { createCsr, parseCsr } from "../pki/mod.ts";
import {
  KUBELET_SERVING_SIGNER,
  nodeIdentity,
  type ServingCsrFacts,
  servingCsrNode,
  servingCsrProblem,
} from "./serving_csr.ts";

const node = nodeIdentity({
  metadata: { name: "worker-1" },
  status: {
    addresses: [
      { type: "InternalIP", address: "198.18.1.21" },
      { type: "Hostname", address: "worker-1" },
    ],
  },
});

async function facts(
  names: { dnsNames?: string[]; ipAddresses?: string[]; emails?: string[] },
  overrides: Partial<ServingCsrFacts> = {},
  subject = { commonName: "system:node:worker-1", organizations: ["system:nodes"] },
): Promise<ServingCsrFacts> {
  const { csrPem } = await createCsr({ ...subject, ...names });
  return {
    signerName: KUBELET_SERVING_SIGNER,
    username: "system:node:worker-1",
    groups: ["system:nodes", "system:authenticated"],
    usages: ["digital signature", "server auth"],
    request: await parseCsr(csrPem),
    ...overrides,
  };
}

Deno.test("a kubelet's own serving CSR for its name and address passes", async () => {
  const own = await facts({ dnsNames: ["worker-1"], ipAddresses: ["198.18.1.21"] });
  assert.equal(servingCsrProblem(own, node), undefined);
  assert.equal(servingCsrProblem(await facts({ ipAddresses: ["198.18.1.21"] }), node), undefined);
});

Deno.test("the careful approver refuses foreign names, addresses, requesters and usages", async () => {
  const cases: [Promise<ServingCsrFacts>, RegExp][] = [
    [
      facts({ dnsNames: ["worker-1", "kubernetes.default"], ipAddresses: ["198.18.1.21"] }),
      /DNS names kubernetes\.default are not names of Node worker-1/,
    ],
    [
      facts({ dnsNames: ["worker-1"], ipAddresses: ["198.18.1.1"] }),
      /IP addresses 198\.18\.1\.1 are not addresses of Node worker-1/,
    ],
    [facts({ dnsNames: ["worker-1"], emails: ["a@b.c"] }), /URI or e-mail/],
    [facts({}), /no DNS name or IP address/],
    [
      facts({ dnsNames: ["worker-1"] }, { username: "system:node:worker-2" }),
      /requested by "system:node:worker-2"/,
    ],
    [
      facts({ dnsNames: ["worker-1"] }, { groups: ["system:authenticated"] }),
      /not in the group system:nodes/,
    ],
    [
      facts({ dnsNames: ["worker-1"] }, {
        usages: ["digital signature", "server auth", "client auth"],
      }),
      /client auth are not serving usages/,
    ],
    [facts({ dnsNames: ["worker-1"] }, { usages: ["digital signature"] }), /lack server auth/],
    [
      facts({ dnsNames: ["worker-1"] }, { signerName: "kubernetes.io/kube-apiserver-client" }),
      /signer is/,
    ],
    [
      facts({ dnsNames: ["worker-1"] }, {}, {
        commonName: "system:node:worker-2",
        organizations: ["system:nodes"],
      }),
      /subject CN/,
    ],
    [
      facts({ dnsNames: ["worker-1"] }, {}, {
        commonName: "system:node:worker-1",
        organizations: ["system:masters"],
      }),
      /subject O/,
    ],
  ];
  for (const [made, expected] of cases) {
    const problem = servingCsrProblem(await made, node);
    assert.ok(problem, `refused: ${expected}`);
    assert.match(problem, expected);
  }
});

Deno.test("a forced rotation's CSR may come from the approver itself, nothing else changes", async () => {
  const ours = await facts({ dnsNames: ["worker-1"], ipAddresses: ["198.18.1.21"] }, {
    username: "ca-rotator",
    groups: [],
  });
  assert.match(servingCsrProblem(ours, node)!, /requested by "ca-rotator"/);
  assert.equal(servingCsrProblem(ours, node, true), undefined);
  const foreign = await facts({ ipAddresses: ["10.0.0.1"] }, { username: "ca-rotator" });
  assert.match(servingCsrProblem(foreign, node, true)!, /10\.0\.0\.1/);
});

Deno.test("the node of a kubelet-serving CSR is its requester's", () => {
  assert.equal(
    servingCsrNode({ spec: { signerName: KUBELET_SERVING_SIGNER, username: "system:node:w" } }),
    "w",
  );
  assert.equal(
    servingCsrNode({ spec: { signerName: KUBELET_SERVING_SIGNER, username: "bob" } }),
    undefined,
  );
  assert.equal(
    servingCsrNode({
      spec: {
        signerName: "kubernetes.io/kube-apiserver-client-kubelet",
        username: "system:node:w",
      },
    }),
    undefined,
  );
});
