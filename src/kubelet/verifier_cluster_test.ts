/**
 * The verifier on the real control plane (test/cluster: kubeadm node roots, a real API server and
 * controller-manager, kubelets — kubelet-client, the kubelet's own certificate code — that rotate
 * through the CSR API):
 * - before the signer switch every node is reported old-CA;
 * - after the controller-manager's signer is switched to a new CA, nodes rotate at their
 *   jittered thresholds and the report follows them;
 * - forced rotation brings a straggler (a long-lived old-CA certificate) over;
 * - a node with rotation off blocks the gate and the message names it.
 */
import assert from "node:assert/strict";
import { startCluster, type TestCluster } from "../../test/cluster/harness.ts";
import { KubeClusterApi } from "../kube/kube_cluster_api.ts";
import { kubeconfigCaData, kubeconfigClientCert } from "../formats/kubeconfig_file.ts";
import { loadKubeConfig } from "../kube/kubeconfig.ts";
import { setManifestFlags } from "../formats/static_pod_manifest.ts";
import { memoryPrinter } from "../engine/printer.ts";
import { LocalNode } from "../nodes/local.ts";
import { generateCa, issueCertificate, parseCertificate, parsePrivateKey } from "../pki/mod.ts";
import {
  DEFAULT_KUBELET_PATHS,
  gateMessage,
  type KubeletPaths,
  observeKubelets,
  renderReportJson,
  renderReportText,
  type VerifierReport,
  verifyKubelets,
  type VerifyKubeletsOptions,
} from "./mod.ts";

const PKI = "/etc/kubernetes/pki";
const MANIFESTS = "/etc/kubernetes/manifests";
const BACKUP = "/var/lib/ca-rotator/backup";
const PATHS: KubeletPaths = {
  ...DEFAULT_KUBELET_PATHS,
  kubeletRestart: [
    "sh",
    "-c",
    'mkdir -p "$NODE_ROOT/var/run/kubelet" && touch "$NODE_ROOT/var/run/kubelet/restart"',
  ],
};

/** What a kubelet (kubelet-client) reports in /var/run/kubelet/status.json (the fields used here). */
interface KubeletStatus {
  rotateCertificates: boolean;
  restarts: number;
  consecutiveFailures: number;
  cert: { serial: string; notBefore: string } | null;
  rotations: number;
  lastRotationAt: string | null;
}

async function kubeletStatus(node: LocalNode): Promise<KubeletStatus> {
  return JSON.parse((await node.readFile("/var/run/kubelet/status.json"))!);
}

async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** Restarts a kubelet and waits until it has come back with its files re-read. */
async function restartKubelet(node: LocalNode, check: (s: KubeletStatus) => boolean) {
  const before = (await kubeletStatus(node)).restarts;
  const result = await node.run(PATHS.kubeletRestart);
  assert.equal(result.code, 0, result.stderr);
  await eventually(`${node.name}'s kubelet to restart`, async () => {
    const status = await kubeletStatus(node);
    return status.restarts > before && check(status) ? status : undefined;
  });
}

/** GETs through Deno's own fetch with the admin kubeconfig's credentials; `undefined` on errors. */
async function nativeApi(kubeconfig: string) {
  const text = await Deno.readTextFile(kubeconfig);
  const server = /server: (\S+)/.exec(text)![1];
  const user = kubeconfigClientCert(text, kubeconfig);
  const client = Deno.createHttpClient({
    caCerts: kubeconfigCaData(text, kubeconfig),
    cert: user.certPem,
    key: user.keyPem,
  });
  return {
    // deno-lint-ignore no-explicit-any
    async get(path: string, as: "json" | "text" = "json"): Promise<any> {
      try {
        const response = await fetch(server + path, { client, signal: AbortSignal.timeout(5000) });
        if (!response.ok) {
          await response.body?.cancel();
          return undefined;
        }
        return as === "json" ? await response.json() : await response.text();
      } catch {
        return undefined;
      }
    },
    close: () => client.close(),
  };
}

Deno.test({
  name: "kubelet verifier on the real control plane: old CA, signer switch, jittered rotation, " +
    "forced rotation, rotation off",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const stateDir = await Deno.makeTempDir({ prefix: "ca-rotator-kubelet-verifier-" });
    const lines: string[] = [];
    let testCluster: TestCluster;
    try {
      // Initial kubelet certificates: 150 s lifetime, window 60 s … 90 s after the kubelets start.
      testCluster = await startCluster({
        apiServers: 1,
        nodes: 3,
        stateDir,
        kubeletCertLifetimeSeconds: 150,
        firstRotationAfterSeconds: 60,
        signingDuration: "10m",
        log: (line) => lines.push(line),
      });
    } catch (error) {
      console.error(lines.join("\n"));
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
      throw error;
    }
    const state = testCluster.state;
    try {
      const { layout } = state;
      const cp = layout.controlPlane.map((n) =>
        new LocalNode({ name: n.name, root: n.root, backupDir: BACKUP })
      );
      const workers = layout.workers.map((n) =>
        new LocalNode({ name: n.name, root: n.root, backupDir: BACKUP })
      );
      const [, worker2, worker3] = workers;
      const cluster = new KubeClusterApi(loadKubeConfig({ kubeconfig: state.kubeconfig }));
      const oldCaPem = (await cp[0].readFile(`${PKI}/ca.crt`))!;
      const oldCaKey = (await cp[0].readFile(`${PKI}/ca.key`))!;
      const newCa = await generateCa();
      const printer = memoryPrinter();
      const options: VerifyKubeletsOptions = {
        cluster,
        controlPlane: cp,
        workers,
        newCa: newCa.certPem,
        oldCa: oldCaPem,
        paths: PATHS,
        printer,
        pollIntervalMs: 1000,
        approvalGraceMs: 5000,
      };

      await t.step("setup: worker-2 a straggler, worker-3 with rotation off", async () => {
        // Both renewed just before the switch and got a day-long old-CA certificate (so neither
        // rotates nor expires during the test); worker-3 then has rotation turned off.
        const oldCa = {
          cert: parseCertificate(oldCaPem),
          privateKey: (await parsePrivateKey(oldCaKey)).privateKey,
        };
        const dayLong = async (node: LocalNode) => {
          const issued = await issueCertificate({
            ca: oldCa,
            commonName: `system:node:${node.name}`,
            organizations: ["system:nodes"],
            keyType: "ecdsa-p256",
            validityDays: 1,
          });
          await node.writeFile(
            "/var/lib/kubelet/pki/kubelet-client-current.pem",
            issued.certPem + issued.keyPem!,
            { mode: 0o600 },
          );
          return issued.cert.serialNumber;
        };
        const serial2 = await dayLong(worker2);
        await restartKubelet(worker2, (s) => s.cert?.serial === serial2);
        const serial3 = await dayLong(worker3);
        const config = (await worker3.readFile(PATHS.kubeletConfig))!;
        assert.match(config, /^rotateCertificates: true$/m);
        await worker3.writeFile(
          PATHS.kubeletConfig,
          config.replace(/^rotateCertificates: true$/m, "rotateCertificates: false"),
        );
        await restartKubelet(worker3, (s) => !s.rotateCertificates && s.cert?.serial === serial3);
      });

      let before!: VerifierReport;
      await t.step("before the signer switch every node is reported old-CA", async () => {
        before = await observeKubelets(options);
        assert.deepEqual(
          before.nodes.map((n) => [n.name, n.certificate?.issuer]),
          [
            ["control-plane-1", "old"],
            ["worker-1", "old"],
            ["worker-2", "old"],
            ["worker-3", "old"],
          ],
        );
        assert.equal(before.signer.state, "old");
        assert.equal(before.signer.signingDurationMs, 600_000);
        assert.equal(before.gateOpen, false);
        const verdicts = Object.fromEntries(
          before.nodes.map((n) => [n.name, n.verdict.status === "blocking" && n.verdict.reason]),
        );
        assert.deepEqual(verdicts, {
          "control-plane-1": "signer-old-ca",
          "worker-1": "signer-old-ca",
          "worker-2": "signer-old-ca",
          "worker-3": "rotation-off",
        });
        assert.equal(before.nodes.find((n) => n.name === "worker-3")?.rotation.enabled, false);
        for (const node of before.nodes) {
          assert.equal(node.certificate?.source, "node-file");
          assert.equal(node.rotation.source, "node-file"); // kwok nodes have no configz
        }
        const doc = JSON.parse(renderReportJson(before));
        assert.equal(doc.nodes.length, 4);
        assert.match(
          renderReportText(before),
          /still signs kubelet client certificates with the old CA/,
        );
      });

      await t.step(
        "switch: API servers trust both CAs, the controller-manager signs with the new",
        async () => {
          // While the API server restarts, requests go through Deno's own fetch: a TLS handshake
          // cut off by a restarting server can crash the process inside node:tls (which the
          // Kubernetes client library uses) in Deno 2.9.
          const api = await nativeApi(state.kubeconfig);
          const holder = async () =>
            (await api.get(
              "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager",
            ))?.spec?.holderIdentity as string | undefined;
          const oldHolder = await holder();
          assert.ok(oldHolder);
          for (const node of cp) {
            await node.writeFile(`${PKI}/ca-new.crt`, newCa.certPem);
            await node.writeFile(`${PKI}/ca-new.key`, newCa.keyPem, { mode: 0o600 });
            await node.writeFile(`${PKI}/ca-bundle.crt`, oldCaPem + newCa.certPem);
            const apiserver = `${MANIFESTS}/kube-apiserver.yaml`;
            await node.writeFile(
              apiserver,
              setManifestFlags((await node.readFile(apiserver))!, {
                "--client-ca-file": `${PKI}/ca-bundle.crt`,
              }),
            );
            const kcm = `${MANIFESTS}/kube-controller-manager.yaml`;
            await node.writeFile(
              kcm,
              setManifestFlags((await node.readFile(kcm))!, {
                "--cluster-signing-cert-file": `${PKI}/ca-new.crt`,
                "--cluster-signing-key-file": `${PKI}/ca-new.key`,
              }),
            );
          }
          await eventually("a new controller-manager to lead", async () => {
            const now = await holder();
            return now && now !== oldHolder ? now : undefined;
          }, 120_000);
          await eventually(
            "the API server to be ready",
            async () => (await api.get("/readyz", "text")) === "ok" ? true : undefined,
          );
          api.close();
        },
      );

      await t.step("after the switch nodes rotate at their jittered thresholds", async () => {
        const waited = Date.now();
        const report = await verifyKubelets({ ...options, waitMs: 150_000 });
        const verdict = (name: string) => report.nodes.find((n) => n.name === name)!.verdict;
        const reason = (name: string) => {
          const v = verdict(name);
          return v.status === "blocking" ? v.reason : v.status;
        };
        assert.equal(report.signer.state, "new");
        assert.equal(verdict("control-plane-1").status, "ok");
        assert.equal(verdict("worker-1").status, "ok");
        for (const name of ["control-plane-1", "worker-1"]) {
          const node = report.nodes.find((n) => n.name === name)!;
          assert.equal(node.certificate?.issuer, "new");
          // the rotation happened inside the window predicted before the switch
          const window = before.nodes.find((n) => n.name === name)!.window!;
          const access = [...cp, ...workers].find((n) => n.name === name)!;
          // the kubelet records a rotation on its next 200 ms tick, after the certificate file
          // the verifier read was written
          const status = await eventually(
            `${name}'s kubelet to record its rotation`,
            async () => {
              const s = await kubeletStatus(access);
              return s.rotations > 0 ? s : undefined;
            },
            10_000,
          );
          assert.equal(status.rotations, 1);
          const rotatedAt = Date.parse(status.lastRotationAt!);
          assert.ok(
            rotatedAt >= window.earliest.getTime() && rotatedAt <= window.latest.getTime() + 15_000,
            `${name} rotated at ${status.lastRotationAt}, window ${window.earliest.toISOString()}..${window.latest.toISOString()}`,
          );
        }
        // the straggler and the node with rotation off cannot come over by themselves
        assert.equal(reason("worker-2"), "window-after-deadline");
        assert.equal(reason("worker-3"), "rotation-off");
        assert.ok(
          Date.now() - waited < 150_000,
          "the wait ended once nothing could change by itself",
        );
        // the progress lines followed the nodes over
        const progress = printer.lines.filter((l) => l.startsWith("kubelet rotation: "));
        assert.ok(
          progress.some((l) => /[01]\/4 on the new CA, [12] rotating/.test(l)),
          progress.join("\n"),
        );
        assert.ok(
          progress.some((l) => /2\/4 on the new CA, 0 rotating, 2 blocking/.test(l)),
          progress.join("\n"),
        );
        assert.ok(printer.lines.includes(
          "kubelet rotation: the remaining nodes cannot come over by themselves; not waiting",
        ));
        const message = gateMessage(report)!;
        assert.match(message, /worker-2 \(window-after-deadline/);
        assert.match(message, /worker-3 \(rotation-off/);
      });

      await t.step("forced rotation brings the straggler over", async () => {
        const restarts = (await kubeletStatus(worker2)).restarts;
        const report = await verifyKubelets({
          ...options,
          forceRotation: true,
          only: ["control-plane-1", "worker-1", "worker-2"],
        });
        assert.equal(report.gateOpen, true, gateMessage(report) ?? "");
        assert.deepEqual(report.forced.map((f) => [f.node, f.approvedBy]), [[
          "worker-2",
          "controller-manager",
        ]]);
        const node = report.nodes.find((n) => n.name === "worker-2")!;
        assert.equal(node.certificate?.issuer, "new");
        assert.equal(node.certificate?.origin, "/var/lib/kubelet/pki/kubelet-client-current.pem");
        // the kubelet restarted with the new certificate and keeps talking to the API
        await eventually("worker-2 to heartbeat with its new certificate", async () => {
          const status = await kubeletStatus(worker2);
          return status.restarts > restarts && status.consecutiveFailures === 0 &&
              status.cert?.serial === node.certificate?.serialNumber
            ? status
            : undefined;
        });
      });

      await t.step(
        "a node with rotation off blocks the gate and the message names it",
        async () => {
          const report = await observeKubelets(options);
          assert.equal(report.gateOpen, false);
          assert.deepEqual(report.summary, { nodes: 4, ok: 3, willRotate: 0, blocking: 1 });
          const message = gateMessage(report)!;
          assert.match(
            message,
            /^1 of 4 kubelet\(s\) do not authenticate with a certificate of the new CA/,
          );
          assert.match(
            message,
            /blocking: worker-3 \(rotation-off: old-CA certificate and rotateCertificates is off\)/,
          );
          assert.match(renderReportText(report), /worker-3\s+off\s+old\s.*BLOCKING rotation-off/);
          const doc = JSON.parse(renderReportJson(report));
          assert.equal(doc.gateOpen, false);
          assert.equal(doc.nodes[3].verdict.reason, "rotation-off");
          // forcing it too opens the gate
          const forced = await verifyKubelets({ ...options, forceRotation: true });
          assert.equal(forced.gateOpen, true, gateMessage(forced) ?? "");
          assert.deepEqual(forced.forced.map((f) => f.node), ["worker-3"]);
          assert.match(forced.nodes[3].notes.join("\n"), /rotation is off/);
        },
      );
    } catch (error) {
      const log = await Deno.readTextFile(`${stateDir}/supervisor.log`).catch(() => "");
      console.error(
        log.split("\n").filter((l) => /kubelet|error|FAIL/i.test(l)).slice(-60).join("\n"),
      );
      for (const n of [...state.layout.controlPlane, ...state.layout.workers]) {
        const kubelet = await Deno.readTextFile(`${n.root}/var/log/kubelet.log`).catch(() => "");
        console.error(`--- ${n.name} kubelet.log\n${kubelet.split("\n").slice(-25).join("\n")}`);
      }
      throw error;
    } finally {
      await testCluster.stop();
    }
  },
});
