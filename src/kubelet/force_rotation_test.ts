import assert from "node:assert/strict";
import { makeCas } from "./_test_kubelet_certificates.ts";
import {
  installClientCertificate,
  kubeletTimestamp,
  readNodeCredentials,
} from "./force_rotation.ts";
import { CURRENT_CLIENT_PEM, DEFAULT_KUBELET_PATHS } from "./node_facts.ts";
import { LocalNode } from "../nodes/local.ts";
import { issueCertificate } from "../pki/mod.ts";

const cas = await makeCas();
const paths = DEFAULT_KUBELET_PATHS;
const current = `${paths.kubeletPkiDir}/${CURRENT_CLIENT_PEM}`;

async function withNode(fn: (node: LocalNode) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "force_rotation_test_" });
  try {
    await fn(new LocalNode({ name: "worker-1", root, backupDir: "/var/lib/ca-rotator/backup" }));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function nodeCert(ca = cas.new, validityDays = 1) {
  const issued = await issueCertificate({
    ca,
    commonName: "system:node:worker-1",
    organizations: ["system:nodes"],
    keyType: "ecdsa-p256",
    validityDays,
  });
  return { certPem: issued.certPem, keyPem: issued.keyPem! };
}

Deno.test("kubeletTimestamp is the kubelet's file-name format", () => {
  assert.equal(kubeletTimestamp(new Date("2025-06-01T12:34:56.789Z")), "2025-06-01-12-34-56");
});

Deno.test("installClientCertificate writes the dated PEM and the current PEM, 0600", async () => {
  await withNode(async (node) => {
    const { certPem, keyPem } = await nodeCert();
    const file = await installClientCertificate(
      node,
      paths,
      certPem,
      keyPem,
      "2025-06-01-12-00-00",
    );
    assert.equal(file, "/var/lib/kubelet/pki/kubelet-client-2025-06-01-12-00-00.pem");
    const dated = await node.readFile(file);
    assert.equal(dated, certPem + keyPem);
    assert.equal(await node.readFile(current), dated);
    assert.equal((await Deno.stat(node.hostPath(file))).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(node.hostPath(current))).mode! & 0o777, 0o600);
  });
});

Deno.test("installClientCertificate updates a kubelet.conf with inline credentials", async () => {
  await withNode(async (node) => {
    const old = await nodeCert(cas.old);
    const kubeconfig = [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- cluster: {server: 'https://127.0.0.1:6443', certificate-authority-data: AAAA}",
      "  name: kubernetes",
      "users:",
      "- name: node",
      "  user:",
      `    client-certificate-data: ${btoa(old.certPem)}`,
      `    client-key-data: ${btoa(old.keyPem)}`,
      "",
    ].join("\n");
    await node.writeFile(paths.kubeletKubeconfig, kubeconfig);
    const fresh = await nodeCert();
    await installClientCertificate(node, paths, fresh.certPem, fresh.keyPem, "stamp");
    const text = (await node.readFile(paths.kubeletKubeconfig))!;
    assert.ok(text.includes(btoa(fresh.certPem)));
    assert.ok(!text.includes(btoa(old.certPem)));
  });
});

Deno.test("readNodeCredentials: from the current PEM, only while valid", async () => {
  await withNode(async (node) => {
    assert.equal(await readNodeCredentials(node, paths), undefined);
    const { certPem, keyPem } = await nodeCert();
    await node.writeFile(current, certPem + keyPem);
    const credentials = await readNodeCredentials(node, paths);
    assert.equal(credentials?.certPem.trim(), certPem.trim());
    assert.equal(credentials?.keyPem.trim(), keyPem.trim());
    const later = new Date(Date.now() + 2 * 86_400_000);
    assert.equal(await readNodeCredentials(node, paths, later), undefined);
  });
});

Deno.test("installClientCertificate never overwrites a kubelet's file of the same second", async () => {
  await withNode(async (node) => {
    const { certPem, keyPem } = await nodeCert();
    const first = await installClientCertificate(node, paths, certPem, keyPem, "s");
    const second = await installClientCertificate(node, paths, certPem, keyPem, "s");
    assert.equal(first, "/var/lib/kubelet/pki/kubelet-client-s.pem");
    assert.equal(second, "/var/lib/kubelet/pki/kubelet-client-s-1.pem");
  });
});
