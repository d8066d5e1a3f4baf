import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { generateCa } from "../../src/pki/ca.ts";
import {
  KUBE_SCHEDULER_MANIFEST,
  kubeconfigText,
  kubeletConfigText,
} from "../../src/steps/_test_kubeadm_files.ts";
import { checkNodeFiles } from "./node_file_check.ts";

/** A node root with one file of each kind a rotation writes, all whole. */
async function nodeRoot(): Promise<{ root: string; files: Record<string, string> }> {
  const root = await Deno.makeTempDir({ prefix: "ca-rotator-crash-files-" });
  const ca = await generateCa({ keyType: "ecdsa-p256" });
  // The bundle's second certificate is the longer one, so its half falls inside a block.
  const other = await generateCa({ keyType: "rsa-2048", commonName: "other" });
  const admin = kubeconfigText({
    server: "https://198.18.1.100:6443",
    caPem: ca.certPem,
    user: "kubernetes-admin",
    cert: ca.certPem,
    key: ca.keyPem,
  });
  const files: Record<string, string> = {
    "etc/kubernetes/pki/ca.crt": ca.certPem,
    "etc/kubernetes/pki/ca-bundle.crt": ca.certPem + other.certPem,
    "etc/kubernetes/pki/ca.key": ca.keyPem,
    "etc/kubernetes/admin.conf": admin,
    "etc/kubernetes/manifests/kube-scheduler.yaml": KUBE_SCHEDULER_MANIFEST,
    "var/lib/kubelet/config.yaml": kubeletConfigText("/etc/kubernetes/pki/ca.crt"),
    "var/lib/ca-rotator/backup/etc/kubernetes/pki/ca.crt.2026-11-27T061500.123Z": ca.certPem,
  };
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(join(root, dirname(path)), { recursive: true });
    await Deno.writeTextFile(join(root, path), text);
  }
  return { root, files };
}

Deno.test("the node file check passes whole files and flags each one cut in half", async () => {
  const { root, files } = await nodeRoot();
  try {
    const whole = await checkNodeFiles([root]);
    assert.deepEqual(whole.problems, []);
    assert.equal(whole.checked, Object.keys(files).length);
    for (const [path, text] of Object.entries(files)) {
      // Cut at half its length, and at the last line break before that (a cut YAML file can
      // still parse).
      const half = Math.floor(text.length / 2);
      for (const cut of [half, text.lastIndexOf("\n", half) + 1]) {
        await Deno.writeTextFile(join(root, path), text.slice(0, cut));
        const report = await checkNodeFiles([root]);
        assert.equal(report.problems.length, 1, `${path} cut at ${cut}: ${report.problems}`);
        assert.ok(report.problems[0].startsWith(path), report.problems[0]);
      }
      await Deno.writeTextFile(join(root, path), text);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the node file check flags a temporary file a kubelet would load as a manifest", async () => {
  const { root } = await nodeRoot();
  try {
    const manifests = join(root, "etc/kubernetes/manifests");
    await Deno.writeTextFile(join(manifests, ".kube-scheduler.yaml.ca-rotator.tmp"), "");
    assert.deepEqual((await checkNodeFiles([root])).problems, []);
    await Deno.writeTextFile(join(manifests, "kube-scheduler.yaml.ca-rotator.tmp"), "");
    const { problems } = await checkNodeFiles([root]);
    assert.equal(problems.length, 1);
    assert.match(problems[0], /kube-scheduler\.yaml\.ca-rotator\.tmp .*static-pod manifest/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
