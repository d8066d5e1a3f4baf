/**
 * `expiry` on the real control plane, checked against openssl and against kubeadm's own
 * `certs check-expiration`: every CA, leaf, kubeconfig and kubelet certificate of the
 * local-demo plan's nodes with the expiry openssl reads from the same file and the CA that
 * issued it; the thresholds decide the exit code.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster } from "../cluster/harness.ts";
import { kubeadm, KUBEADM_CONFIG_PATH } from "../cluster/kubeadm.ts";
import { assertExit, runCaRotator } from "../rotation/ca_rotator_process.ts";
import { kubeconfigClientCert } from "../../src/formats/kubeconfig_file.ts";
import type { ExpiryRow } from "../../src/app/expiry_report.ts";

const PLAN = "plans/local-demo.yaml";

/** openssl's notAfter of the first certificate of `pem`, as an ISO time. */
async function opensslNotAfter(pem: string): Promise<string> {
  const child = new Deno.Command("openssl", {
    args: ["x509", "-noout", "-enddate"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(pem));
  await writer.close();
  const out = new TextDecoder().decode((await child.output()).stdout);
  return new Date(out.replace("notAfter=", "").trim()).toISOString();
}

Deno.test({
  name:
    "expiry: every certificate of the nodes, as openssl and kubeadm read them; thresholds exit 3",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const cluster = await startCluster({ apiServers: 1, nodes: 1 });
  try {
    const root = cluster.nodeRoots[0];
    const worker = cluster.workers[0].name;
    let rows: ExpiryRow[] = [];

    await t.step(
      "the JSON report: each certificate's expiry as openssl reads it, and its issuer",
      async () => {
        const result = await runCaRotator(cluster.env, ["expiry", "--plan", PLAN, "-o", "json"]);
        assertExit(result, 0, "expiry -o json");
        const report = JSON.parse(result.stdout);
        assert.equal(report.kind, "ExpiryReport");
        assert.deepEqual(report.problems, []);
        rows = report.certificates;
        const cp = cluster.nodes[0].name;
        const issuer = (node: string, path: string) =>
          rows.find((row) => row.node === node && row.path === path)?.issuer;
        const expected: [string, string, string][] = [
          [cp, "/etc/kubernetes/pki/ca.crt", "self-signed"],
          [cp, "/etc/kubernetes/pki/front-proxy-ca.crt", "self-signed"],
          [cp, "/etc/kubernetes/pki/etcd/ca.crt", "self-signed"],
          [cp, "/etc/kubernetes/pki/apiserver.crt", "ca"],
          [cp, "/etc/kubernetes/pki/apiserver-kubelet-client.crt", "ca"],
          [cp, "/etc/kubernetes/pki/front-proxy-client.crt", "front-proxy-ca"],
          [cp, "/etc/kubernetes/pki/apiserver-etcd-client.crt", "etcd-ca"],
          [cp, "/etc/kubernetes/pki/etcd/server.crt", "etcd-ca"],
          [cp, "/etc/kubernetes/admin.conf", "ca"],
          [cp, "/etc/kubernetes/scheduler.conf", "ca"],
          [cp, "/var/lib/kubelet/pki/kubelet-client-current.pem", "ca"],
          [worker, "/etc/kubernetes/pki/ca.crt", "self-signed"],
          [worker, "/var/lib/kubelet/pki/kubelet-client-current.pem", "ca"],
        ];
        for (const [node, path, by] of expected) {
          assert.equal(issuer(node, path), by, `${node}:${path} issued by ${by}`);
        }
        let checked = 0;
        for (const row of rows) {
          const text = await Deno.readTextFile(join(cluster.rootOf(row.node), row.path));
          const pem = row.role === "kubeconfig" ? kubeconfigClientCert(text).certPem! : text;
          assert.equal(row.notAfter, await opensslNotAfter(pem), `${row.node}:${row.path}`);
          checked++;
        }
        console.log(`expiry: ${rows.length} certificates, ${checked} checked against openssl`);
        assert.ok(checked >= expected.length);
      },
    );

    await t.step("the table; kubeadm's check-expiration gives the same expiry", async () => {
      const result = await runCaRotator(cluster.env, ["expiry", "--plan", PLAN]);
      assertExit(result, 0, "expiry");
      const lines = result.stdout.trimEnd().split("\n");
      assert.match(lines[0], /^NODE\s+ROLE\s+CERTIFICATE\s+EXPIRES\s+RESIDUAL\s+ISSUER\s+DUE$/);
      assert.equal(lines.length, rows.length + 1, "a line per certificate");
      assert.match(result.stdout, /\/etc\/kubernetes\/pki\/ca\.crt\s+\S+\s+9y\s+self-signed/);
      // kubeadm prints e.g. "apiserver   Dec 06, 2027 10:35 UTC   364d   ca   no".
      const kubeadmOut = await kubeadm(cluster.binDir, root, [
        "certs",
        "check-expiration",
        `--config=${KUBEADM_CONFIG_PATH}`,
      ]);
      for (const name of ["apiserver", "front-proxy-client", "apiserver-etcd-client"]) {
        const line = kubeadmOut.split("\n").find((each) => each.startsWith(`${name} `));
        assert.ok(line, `kubeadm lists ${name}:\n${kubeadmOut}`);
        const expires = line.match(/([A-Z][a-z]{2} \d{2}, \d{4} \d{2}:\d{2} UTC)/)![1];
        const ours = rows.find((row) => row.path === `/etc/kubernetes/pki/${name}.crt`)!;
        assert.equal(
          new Date(expires.replace(",", "")).toISOString().slice(0, 16),
          ours.notAfter.slice(0, 16),
          `${name}: kubeadm ${expires}, ca-rotator ${ours.notAfter}`,
        );
      }
    });

    await t.step(
      "thresholds: a CA within --ca-days, a leaf within --leaf-days, exit 3",
      async () => {
        const ca = await runCaRotator(cluster.env, ["expiry", "--plan", PLAN, "--ca-days", "3651"]);
        assertExit(ca, 3, "expiry --ca-days 3651 (the CAs have 10 years)");
        assert.match(
          ca.stderr,
          /control-plane-1:\/etc\/kubernetes\/pki\/ca\.crt \(ca\) expires .* \(within --ca-days 3651\)/,
        );
        const quiet = await runCaRotator(cluster.env, [
          "expiry",
          "--plan",
          PLAN,
          "--ca-days",
          "3000",
        ]);
        assertExit(quiet, 0, "expiry --ca-days 3000");
        // The test kubelets' client certificates live minutes (test/cluster/README.md).
        const leaf = await runCaRotator(cluster.env, [
          "expiry",
          "--plan",
          PLAN,
          "--leaf-days",
          "1",
        ]);
        assertExit(leaf, 3, "expiry --leaf-days 1");
        assert.match(
          leaf.stderr,
          /kubelet-client-current\.pem \(kubelet-client\) expires .* \(within --leaf-days 1\)/,
        );
        const bad = await runCaRotator(cluster.env, [
          "expiry",
          "--plan",
          PLAN,
          "--ca-days",
          "soon",
        ]);
        assertExit(bad, 2, "expiry --ca-days soon");
        assert.match(bad.stderr, /"soon" is not a whole number of days/);
      },
    );
  } finally {
    await cluster.stop();
  }
});
