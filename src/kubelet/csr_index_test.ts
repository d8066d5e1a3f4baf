import assert from "node:assert/strict";
import { at, csrObject } from "./_test_kubelet_certificates.ts";
import {
  csrNodeName,
  csrState,
  decodeBase64Text,
  encodeBase64Text,
  indexKubeletCsrs,
} from "./csr_index.ts";
import { createNodeClientCsr } from "../pki/mod.ts";

Deno.test("csrState reads conditions and the certificate", () => {
  const base = { name: "c", node: "n", created: at(0) };
  assert.equal(csrState(csrObject({ ...base, state: "pending" })), "pending");
  assert.equal(csrState(csrObject({ ...base, state: "denied" })), "denied");
  assert.equal(csrState(csrObject({ ...base, state: "issued" })), "approved");
  assert.equal(csrState(csrObject({ ...base, state: "issued", certPem: "x" })), "issued");
  const failed = csrObject({ ...base, state: "pending" });
  failed.status!.conditions = [{ type: "Failed", status: "True" }];
  assert.equal(csrState(failed), "failed");
  const notApproved = csrObject({ ...base, state: "pending" });
  notApproved.status!.conditions = [{ type: "Approved", status: "False" }];
  assert.equal(csrState(notApproved), "pending");
});

Deno.test("csrNodeName: from the requester, or the request CN of a bootstrap CSR", async () => {
  const own = csrObject({ name: "a", node: "worker-1", created: at(0), state: "pending" });
  assert.equal(csrNodeName(own), "worker-1");
  const { csrPem } = await createNodeClientCsr("worker-7");
  const bootstrap = csrObject({
    name: "b",
    node: "x",
    created: at(0),
    state: "pending",
    username: "system:bootstrap:abcdef",
  });
  bootstrap.spec!.request = encodeBase64Text(csrPem);
  assert.equal(csrNodeName(bootstrap), "worker-7");
  const serving = { ...own, spec: { ...own.spec, signerName: "kubernetes.io/kubelet-serving" } };
  assert.equal(csrNodeName(serving), undefined);
  const admin = csrObject({
    name: "c",
    node: "x",
    created: at(0),
    state: "pending",
    username: "admin",
  });
  assert.equal(csrNodeName(admin), undefined);
});

Deno.test("indexKubeletCsrs keeps the newest and the newest issued CSR of each node", () => {
  const index = indexKubeletCsrs([
    csrObject({ name: "w1-a", node: "worker-1", created: at(10), state: "issued", certPem: "A" }),
    csrObject({ name: "w1-b", node: "worker-1", created: at(30), state: "pending" }),
    csrObject({ name: "w1-c", node: "worker-1", created: at(20), state: "issued", certPem: "C" }),
    csrObject({ name: "w2-a", node: "worker-2", created: at(5), state: "denied" }),
  ]);
  assert.equal(index.get("worker-1")?.newest.name, "w1-b");
  assert.equal(index.get("worker-1")?.newestIssued?.name, "w1-c");
  assert.equal(index.get("worker-1")?.newestIssued?.certificatePem, "C");
  assert.equal(index.get("worker-2")?.newest.state, "denied");
  assert.equal(index.get("worker-2")?.newest.detail, "Nope: denied by test");
  assert.equal(index.get("worker-2")?.newestIssued, undefined);
  assert.equal(index.get("worker-3"), undefined);
});

Deno.test("base64 text round trip; PEM passes through", () => {
  assert.equal(decodeBase64Text(encodeBase64Text("héllo\n")), "héllo\n");
  assert.equal(decodeBase64Text("-----BEGIN X-----"), "-----BEGIN X-----");
});
