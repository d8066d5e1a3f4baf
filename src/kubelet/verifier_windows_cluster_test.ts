/**
 * The verifier's predicted windows against the kubelet's own certificate code (test/cluster's
 * kubelet-client: k8s.io/kubernetes/pkg/kubelet/certificate and client-go's certificate manager)
 * on the real control plane: the verifier prints each node's rotation window; every node's
 * rotation, seen in the API (the node's first CSR) and in the kubelet's status (the moment its
 * certificate manager began rotating, and the deadline it had drawn), falls inside the window
 * printed before it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster, type TestCluster } from "../../test/cluster/harness.ts";
import type { KubeletStatus } from "../../test/cluster/kubelet_status.ts";
import type { ClusterState } from "../../test/cluster/state.ts";
import { memoryPrinter } from "../engine/printer.ts";
import { KubeClusterApi } from "../kube/kube_cluster_api.ts";
import { loadKubeConfig } from "../kube/kubeconfig.ts";
import { LocalNode } from "../nodes/local.ts";
import { generateCa } from "../pki/mod.ts";
import { DEFAULT_KUBELET_PATHS, observeKubelets, renderReportText } from "./mod.ts";

const PKI = "/etc/kubernetes/pki";
const BACKUP = "/var/lib/ca-rotator/backup";

interface Csr {
  metadata: { name: string; creationTimestamp: string };
  spec: { username: string; signerName: string };
}

/** The WINDOW column of each row of a printed report: node → [earliest, latest] in ms. */
function printedWindows(text: string): Map<string, [number, number]> {
  const windows = new Map<string, [number, number]>();
  for (const line of text.split("\n")) {
    const m = /^(\S+)\s.*\s(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\.\.(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\s/
      .exec(line);
    if (m) windows.set(m[1], [Date.parse(m[2]), Date.parse(m[3])]);
  }
  return windows;
}

async function kubectlJson<T>(state: ClusterState, args: string[]): Promise<T> {
  const out = await new Deno.Command(join(state.binDir, "kubectl"), {
    args: [`--kubeconfig=${state.kubeconfig}`, ...args, "-o", "json"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test({
  name: "verifier windows hold the kubelet code's actual rotations on the real control plane",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const stateDir = await Deno.makeTempDir({ prefix: "ca-rotator-kubelet-windows-" });
    const lines: string[] = [];
    let testCluster: TestCluster;
    try {
      // First certificates: 120 s lifetime, the 70–90 % window 40 … 64 s after the kubelets start.
      testCluster = await startCluster({
        apiServers: 1,
        nodes: 2,
        stateDir,
        kubeletCertLifetimeSeconds: 120,
        firstRotationAfterSeconds: 40,
        signingDuration: "10m",
        log: (line) => lines.push(line),
      });
    } catch (error) {
      console.error(lines.join("\n"));
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
      throw error;
    }
    const state = testCluster.state;
    const { layout } = state;
    const nodes = [...layout.controlPlane, ...layout.workers];
    const status = async (name: string): Promise<KubeletStatus> =>
      JSON.parse(
        await Deno.readTextFile(
          join(nodes.find((n) => n.name === name)!.root, "var/run/kubelet/status.json"),
        ),
      );
    try {
      const access = (n: { name: string; root: string }) =>
        new LocalNode({ name: n.name, root: n.root, backupDir: BACKUP });
      const cp = layout.controlPlane.map(access);
      const oldCa = (await cp[0].readFile(`${PKI}/ca.crt`))!;
      const report = await observeKubelets({
        cluster: new KubeClusterApi(loadKubeConfig({ kubeconfig: state.kubeconfig })),
        controlPlane: cp,
        workers: layout.workers.map(access),
        newCa: (await generateCa()).certPem,
        oldCa,
        paths: DEFAULT_KUBELET_PATHS,
        printer: memoryPrinter(),
      });
      const text = renderReportText(report);
      const printedAt = Date.now();
      console.log(text);
      const windows = printedWindows(text);
      assert.deepEqual([...windows.keys()].sort(), nodes.map((n) => n.name).sort());

      // What each kubelet had drawn when the window was printed: its deadline is inside.
      const drawn = new Map<string, number>();
      for (const { name } of nodes) {
        const s = await status(name);
        assert.equal(s.rotations, 0, `${name} rotated before the window was printed`);
        assert.ok(s.nextRotationAt, `${name} reports no drawn deadline`);
        drawn.set(name, Date.parse(s.nextRotationAt));
      }

      // Every kubelet rotates by itself (the controller-manager approves and signs).
      const deadline = Date.now() + 120_000;
      const rotated = new Map<string, KubeletStatus>();
      while (rotated.size < nodes.length && Date.now() < deadline) {
        for (const { name } of nodes) {
          const s = await status(name).catch(() => undefined);
          if (s && s.rotations >= 1 && !rotated.has(name)) rotated.set(name, s);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.equal(rotated.size, nodes.length, `rotated: ${[...rotated.keys()].join(", ")}`);
      const csrs = (await kubectlJson<{ items: Csr[] }>(state, ["get", "csr"])).items;

      const iso = (ms: number) => new Date(ms).toISOString();
      for (const { name } of nodes) {
        const [earliest, latest] = windows.get(name)!;
        const s = rotated.get(name)!;
        const started = Date.parse(s.rotationStartedAt!);
        const own = csrs
          .filter((c) => c.spec.username === `system:node:${name}`)
          .sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp));
        assert.ok(own.length >= 1, `${name} made no CSR`);
        assert.equal(own[0].spec.signerName, "kubernetes.io/kube-apiserver-client-kubelet");
        const created = Date.parse(own[0].metadata.creationTimestamp);
        console.log(
          `${name}: printed window ${iso(earliest)}..${iso(latest)}; drawn deadline ${
            iso(drawn.get(name)!)
          }; rotation began ${s.rotationStartedAt}; CSR ${own[0].metadata.name} created ${
            own[0].metadata.creationTimestamp
          }`,
        );
        const inside = (what: string, t: number) =>
          assert.ok(
            t >= earliest && t <= latest,
            `${name}: ${what} ${iso(t)} is outside the printed window ${iso(earliest)}..${
              iso(latest)
            }`,
          );
        inside("drawn deadline", drawn.get(name)!);
        inside("rotation start", started);
        inside("CSR creation", created);
        assert.ok(started > printedAt, `${name} began rotating before the window was printed`);
        assert.ok(started >= drawn.get(name)!, `${name} began rotating before its deadline`);
        assert.equal(s.lastCsr, own[0].metadata.name);
      }
    } catch (error) {
      for (const n of nodes) {
        const log = await Deno.readTextFile(join(n.root, "var/log/kubelet.log")).catch(() => "");
        console.error(`--- ${n.name} kubelet.log\n${log.split("\n").slice(-30).join("\n")}`);
      }
      throw error;
    } finally {
      await testCluster.stop();
    }
  },
});
