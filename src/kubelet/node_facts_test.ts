import assert from "node:assert/strict";
import {
  at,
  certificatePemOf,
  csrObject,
  kubeletCert,
  makeCas,
} from "./_test_kubelet_certificates.ts";
import { indexKubeletCsrs } from "./csr_index.ts";
import {
  CURRENT_CLIENT_PEM,
  DEFAULT_KUBELET_PATHS,
  mapLimit,
  nodeFacts,
  readNodeCertificate,
} from "./node_facts.ts";
import { LocalNode } from "../nodes/local.ts";

const cas = await makeCas();
const paths = DEFAULT_KUBELET_PATHS;
const currentPath = `${paths.kubeletPkiDir}/${CURRENT_CLIENT_PEM}`;

async function withNode(fn: (node: LocalNode) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "node_facts_test_" });
  try {
    await fn(new LocalNode({ name: "worker-1", root, backupDir: "/var/lib/ca-rotator/backup" }));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const kubeletConf = (user: string) =>
  [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- cluster:",
    "    certificate-authority-data: AAAA",
    "    server: https://127.0.0.1:6443",
    "  name: kubernetes",
    "users:",
    "- name: system:node:worker-1",
    "  user:",
    user,
    "",
  ].join("\n");

Deno.test("readNodeCertificate: kubelet-client-current.pem first", async () => {
  await withNode(async (node) => {
    const cert = await kubeletCert(cas.old, "worker-1", at(0), at(1000));
    await node.writeFile(
      currentPath,
      certificatePemOf(cert) +
        "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
    );
    const found = await readNodeCertificate(node, paths);
    assert.equal(found?.source, "node-file");
    assert.equal(found?.origin, currentPath);
    assert.equal(found?.cert.serialNumber, cert.serialNumber);
  });
});

Deno.test("readNodeCertificate: else kubelet.conf's inline certificate or its file", async () => {
  await withNode(async (node) => {
    assert.equal(await readNodeCertificate(node, paths), undefined);
    const cert = await kubeletCert(cas.new, "worker-1", at(0), at(1000));
    const b64 = btoa(certificatePemOf(cert));
    await node.writeFile(
      paths.kubeletKubeconfig,
      kubeletConf(`    client-certificate-data: ${b64}`),
    );
    const inline = await readNodeCertificate(node, paths);
    assert.equal(inline?.source, "kubelet.conf");
    assert.equal(inline?.cert.serialNumber, cert.serialNumber);
    await node.writeFile(
      paths.kubeletKubeconfig,
      kubeletConf("    client-certificate: /etc/kubernetes/pki/kubelet-client.crt"),
    );
    await node.writeFile("/etc/kubernetes/pki/kubelet-client.crt", certificatePemOf(cert));
    const file = await readNodeCertificate(node, paths);
    assert.equal(file?.source, "node-file");
    assert.equal(file?.origin, "/etc/kubernetes/pki/kubelet-client.crt");
  });
});

Deno.test("readNodeCertificate: an unparsable file is a problem, not an exception", async () => {
  await withNode(async (node) => {
    await node.writeFile(currentPath, "garbage");
    const problems: string[] = [];
    assert.equal(await readNodeCertificate(node, paths, problems), undefined);
    assert.match(problems[0], /no CERTIFICATE block/);
  });
});

Deno.test("nodeFacts: without node access the newest issued CSR gives the certificate", async () => {
  const cert = await kubeletCert(cas.new, "worker-1", at(0), at(1000));
  const index = indexKubeletCsrs([
    csrObject({
      name: "a",
      node: "worker-1",
      created: at(1),
      state: "issued",
      certPem: certificatePemOf(cert),
    }),
  ]);
  const facts = nodeFacts({
    name: "worker-1",
    registered: true,
    rotation: { enabled: true, source: "configz" },
    csrs: index.get("worker-1"),
  });
  assert.equal(facts.nodeAccess, false);
  assert.equal(facts.certificateSource, "csr");
  assert.equal(facts.certificateOrigin, "a");
  assert.equal(facts.certificate?.serialNumber, cert.serialNumber);
  assert.equal(facts.openCsr, undefined);
  assert.equal(facts.rotationSource, "configz");
});

Deno.test("nodeFacts: a newer unissued CSR is open unless it predates the certificate", async () => {
  const cert = await kubeletCert(cas.old, "worker-1", at(100), at(1100));
  const found = { cert, source: "node-file" as const, origin: currentPath };
  const newer = indexKubeletCsrs([
    csrObject({ name: "a", node: "worker-1", created: at(50), state: "issued", certPem: "x" }),
    csrObject({ name: "b", node: "worker-1", created: at(900), state: "pending" }),
  ]).get("worker-1");
  const open = nodeFacts({
    name: "worker-1",
    registered: true,
    rotation: { source: "none" },
    found,
    csrs: newer,
  });
  assert.equal(open.openCsr?.name, "b");
  assert.equal(open.rotationEnabled, undefined);
  const stale = indexKubeletCsrs([
    csrObject({ name: "b", node: "worker-1", created: at(20), state: "denied" }),
  ]).get("worker-1");
  const closed = nodeFacts({
    name: "worker-1",
    registered: true,
    rotation: { source: "none" },
    found,
    csrs: stale,
  });
  assert.equal(closed.openCsr, undefined);
});

Deno.test("mapLimit keeps order and bounds concurrency", async () => {
  let running = 0;
  let peak = 0;
  const out = await mapLimit([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 5));
    running--;
    return n * 2;
  });
  assert.deepEqual(out, [2, 4, 6, 8, 10, 12, 14]);
  assert.equal(peak, 3);
  assert.deepEqual(await mapLimit([], 3, (n) => Promise.resolve(n)), []);
});
