import assert from "node:assert/strict";
import { makeCas } from "./_test_kubelet_certificates.ts";
import { caTrustFromPem } from "./ca_trust.ts";
import { observeNodeSigner, observeSigner, summarizeSigners } from "./signer.ts";
import { LocalNode } from "../nodes/local.ts";

const cas = await makeCas();
const trust = caTrustFromPem(cas.new.certPem, cas.old.certPem);

function manifest(flags: string[]): string {
  return [
    "apiVersion: v1",
    "kind: Pod",
    "metadata:",
    "  name: kube-controller-manager",
    "  namespace: kube-system",
    "spec:",
    "  containers:",
    "  - command:",
    "    - kube-controller-manager",
    ...flags.map((f) => `    - ${f}`),
    "    name: kube-controller-manager",
    "",
  ].join("\n");
}

async function node(name: string, files: Record<string, string>): Promise<LocalNode> {
  const root = await Deno.makeTempDir({ prefix: "signer_test_" });
  const local = new LocalNode({ name, root, backupDir: "/var/lib/ca-rotator/backup" });
  for (const [path, content] of Object.entries(files)) await local.writeFile(path, content);
  return local;
}

const MANIFEST = "/etc/kubernetes/manifests/kube-controller-manager.yaml";

Deno.test("observeNodeSigner reads the signing CA and duration from the manifest", async () => {
  const cp = await node("control-plane-1", {
    [MANIFEST]: manifest([
      "--cluster-signing-cert-file=/etc/kubernetes/pki/ca-new.crt",
      "--cluster-signing-key-file=/etc/kubernetes/pki/ca-new.key",
      "--cluster-signing-duration=10m0s",
    ]),
    "/etc/kubernetes/pki/ca-new.crt": cas.new.certPem,
  });
  try {
    const signer = await observeNodeSigner(cp, trust, "/etc/kubernetes/manifests");
    assert.deepEqual(signer, {
      node: "control-plane-1",
      certFile: "/etc/kubernetes/pki/ca-new.crt",
      ca: "new",
      duration: "10m0s",
      durationMs: 600_000,
    });
  } finally {
    await Deno.remove(cp.root, { recursive: true });
  }
});

Deno.test("the per-signer flag wins; the default duration is a year", async () => {
  const cp = await node("cp", {
    [MANIFEST]: manifest([
      "--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt",
      "--cluster-signing-kube-apiserver-client-kubelet-cert-file=/etc/kubernetes/pki/kubelet-signer.crt",
    ]),
    "/etc/kubernetes/pki/ca.crt": cas.new.certPem,
    "/etc/kubernetes/pki/kubelet-signer.crt": cas.old.certPem,
  });
  try {
    const signer = await observeNodeSigner(cp, trust, "/etc/kubernetes/manifests");
    assert.equal(signer.ca, "old");
    assert.equal(signer.certFile, "/etc/kubernetes/pki/kubelet-signer.crt");
    assert.equal(signer.duration, "8760h0m0s");
    assert.equal(signer.durationMs, 8760 * 3_600_000);
  } finally {
    await Deno.remove(cp.root, { recursive: true });
  }
});

Deno.test("missing manifest or file is reported, not thrown", async () => {
  const empty = await node("empty", {});
  const noFile = await node("nofile", {
    [MANIFEST]: manifest(["--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt"]),
  });
  try {
    const report = await observeSigner([empty, noFile], trust, "/etc/kubernetes/manifests");
    assert.equal(report.state, "unknown");
    assert.match(report.nodes[0].error!, /does not exist/);
    assert.match(report.nodes[1].error!, /ca\.crt does not exist/);
  } finally {
    await Deno.remove(empty.root, { recursive: true });
    await Deno.remove(noFile.root, { recursive: true });
  }
});

Deno.test("summarizeSigners: new, old, mixed, unknown; shortest duration", () => {
  const s = (ca: "new" | "old" | "missing", durationMs?: number) => ({ node: "n", ca, durationMs });
  assert.equal(summarizeSigners([s("new"), s("new")]).state, "new");
  assert.equal(summarizeSigners([s("old"), s("missing")]).state, "old");
  assert.equal(summarizeSigners([s("new"), s("old")]).state, "mixed");
  assert.equal(summarizeSigners([s("missing")]).state, "unknown");
  assert.equal(summarizeSigners([]).state, "unknown");
  assert.equal(summarizeSigners([s("new", 600_000), s("new", 300_000)]).signingDurationMs, 300_000);
});
