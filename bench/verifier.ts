/**
 * The kubelet verifier on many nodes: the whole report path (CSR index, certificate reading,
 * issuer classification — by key ids where they decide, else by signature — window assessment,
 * verdicts, text and JSON rendering) on kubelet client certificates held in memory — issued up
 * front by an RSA-2048 old and new cluster CA, as kubeadm makes them — and `observeKubelets`
 * against a real API server's kwok nodes and their issued CSRs (nodes and CSRs listed, no node
 * access). In memory, a *cold* round has a new trust and certificate cache (every certificate
 * read and classified: a first round, a dry run); a *warm* round reuses one (a wait's later
 * rounds). Each run's wall time and the process's CPU time during it are recorded: on the shared
 * machine the CPU time holds whatever the load.
 * @module
 */
import process from "node:process";
import { generateCa, issueCertificate } from "../src/pki/mod.ts";
import {
  buildReport,
  caTrustFromPem,
  CertificateCache,
  type CsrObject,
  encodeBase64Text,
  indexKubeletCsrs,
  KUBELET_CLIENT_SIGNER,
  nodeFacts,
  observeKubelets,
  renderReportJson,
  renderReportText,
  summarizeTrust,
} from "../src/kubelet/mod.ts";
import { KubeClusterApi } from "../src/kube/kube_cluster_api.ts";
import { loadKubeConfig } from "../src/kube/kubeconfig.ts";
import { memoryPrinter } from "../src/engine/printer.ts";
import { median, note } from "./_measure.ts";

const HOUR = 3_600_000;

/** One measured run: wall and CPU milliseconds. */
export interface VerifierRun {
  readonly wallMs: number;
  readonly cpuMs: number;
}

/** Times `fn`: wall time, and the process's CPU time (user + system, every thread) meanwhile. */
async function timed(fn: () => Promise<void>): Promise<VerifierRun> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await fn();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

/**
 * Reports over `nodes` in-memory CSRs, `repeats` times cold (a new trust and cache each run:
 * every certificate read and classified) and `repeats` times warm (one trust and cache across
 * the runs, after a first round that fills it, as a wait's rounds).
 */
export async function benchVerifierInMemory(
  nodes: number,
  repeats: number,
): Promise<{ cold: VerifierRun[]; warm: VerifierRun[]; counts: CertificateCache["counts"] }> {
  const now = new Date();
  const [oldCa, newCa] = await Promise.all([
    generateCa({ keyType: "rsa-2048" }),
    generateCa({ keyType: "rsa-2048" }),
  ]);
  const cas = await summarizeTrust(caTrustFromPem(newCa.certPem, oldCa.certPem));
  const leafKeys = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  );
  note(`verifier: issuing ${nodes} kubelet client certificates in memory`);
  const csrs: CsrObject[] = [];
  for (let i = 0; i < nodes; i++) {
    const name = `kwok-node-${i}`;
    const notBefore = new Date(now.getTime() - (i % 100) * 0.9 * HOUR);
    const issued = await issueCertificate({
      ca: i % 3 === 0 ? newCa : oldCa,
      commonName: `system:node:${name}`,
      organizations: ["system:nodes"],
      publicKey: leafKeys.publicKey,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 100 * HOUR),
    });
    csrs.push({
      apiVersion: "certificates.k8s.io/v1",
      kind: "CertificateSigningRequest",
      metadata: { name: `csr-${i}`, creationTimestamp: notBefore },
      spec: {
        request: "",
        signerName: KUBELET_CLIENT_SIGNER,
        username: `system:node:${name}`,
        usages: ["digital signature", "client auth"],
      },
      status: {
        conditions: [{ type: "Approved", status: "True", reason: "AutoApproveSelfNodeClient" }],
        certificate: encodeBase64Text(issued.certPem),
      },
    });
  }
  const round = async (certificates: CertificateCache) => {
    const index = indexKubeletCsrs(csrs);
    const facts = [...index.keys()].map((name) =>
      nodeFacts({
        name,
        registered: true,
        rotation: { enabled: !name.endsWith("7"), source: "configz" },
        csrs: index.get(name),
        read: (pem, source) => certificates.read(pem, source),
      })
    );
    const report = await buildReport({
      facts,
      trust: certificates.trust,
      cas,
      signer: { state: "new", nodes: [] },
      now,
      deadline: new Date(now.getTime() + 20 * HOUR),
      certificates,
    });
    if (report.nodes.length !== nodes) throw new Error(`expected ${nodes} nodes`);
    renderReportText(report);
    renderReportJson(report);
  };
  const fresh = () => new CertificateCache(caTrustFromPem(newCa.certPem, oldCa.certPem));
  const cold: VerifierRun[] = [];
  let counts = fresh().counts;
  for (let i = 0; i < repeats; i++) {
    const certificates = fresh();
    cold.push(await timed(() => round(certificates)));
    counts = { ...certificates.counts };
  }
  const shared = fresh();
  await round(shared);
  const warm: VerifierRun[] = [];
  for (let i = 0; i < repeats; i++) warm.push(await timed(() => round(shared)));
  note(
    `verifier: in memory, ${nodes} nodes: cold median ${
      (median(cold.map((r) => r.wallMs)) / 1000).toFixed(2)
    } s, warm ${(median(warm.map((r) => r.wallMs)) / 1000).toFixed(2)} s; ` +
      `read ${counts.read}, by key id ${counts.byKeyId}, by signature ${counts.bySignature}`,
  );
  return { cold, warm, counts };
}

/**
 * `observeKubelets` against the API server (a new trust each run, as a dry run's gate), per run,
 * and the nodes it saw.
 */
export async function benchVerifierApi(
  kubeconfig: string,
  caBundle: string,
  repeats: number,
): Promise<{ runs: VerifierRun[]; nodes: number }> {
  const cluster = new KubeClusterApi(loadKubeConfig({ kubeconfig }));
  const runs: VerifierRun[] = [];
  let nodes = 0;
  for (let round = 0; round < repeats; round++) {
    runs.push(
      await timed(async () => {
        const report = await observeKubelets({
          cluster,
          caBundle,
          configz: false,
          printer: memoryPrinter(),
        });
        nodes = report.nodes.length;
      }),
    );
  }
  note(
    `verifier: API server: ${nodes} nodes, median ${
      (median(runs.map((r) => r.wallMs)) / 1000).toFixed(2)
    } s`,
  );
  return { runs, nodes };
}
