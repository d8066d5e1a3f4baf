/**
 * `kubeconfig` on the local control plane (2 API servers behind haproxy, so that a restart is not
 * an outage, and 1 worker): a pipeline's kubeconfig (its own user, `ci-pipeline` in group
 * `ci:deployers`, a client certificate of the old CA) is brought along at each phase boundary as
 * the runbook says — the bundle after trust, a renewed client certificate after the switch, the
 * new CA alone after finalize — while a probe uses it for every request of the whole rotation: no
 * request fails for want of trust (no TLS failure, no 401). Negative controls, after
 * finalize: the kubeconfig from before the rotation fails TLS (old CA only), and the one brought
 * to the bundle but never renewed is refused (401, old-CA client certificate).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster, type TestCluster } from "../cluster/harness.ts";
import { runCaRotator, type RunResult } from "../rotation/ca_rotator_process.ts";
import { type ProbeCounts, startProbe } from "../rotation/probe.ts";
import { kubeconfigCaData, kubeconfigClientCert } from "../../src/formats/kubeconfig_file.ts";
import { createCsr, parseCertificates } from "../../src/pki/mod.ts";

const repo = new URL("../../", import.meta.url).pathname;
const USER = "ci-pipeline";
const GROUP = "ci:deployers";

/** A client certificate of the cluster's current signer for USER/GROUP, through the CSR API. */
async function firstClientCertificate(cluster: TestCluster) {
  const { csrPem, keyPem } = await createCsr({ commonName: USER, organizations: [GROUP] });
  const name = "ci-pipeline-first";
  await cluster.kubectl(["create", "-f", "-"], {
    stdin: JSON.stringify({
      apiVersion: "certificates.k8s.io/v1",
      kind: "CertificateSigningRequest",
      metadata: { name },
      spec: {
        request: btoa(csrPem),
        signerName: "kubernetes.io/kube-apiserver-client",
        usages: ["digital signature", "client auth"],
      },
    }),
  });
  await cluster.kubectl(["certificate", "approve", name]);
  for (let i = 0; i < 120; i++) {
    const csr = await cluster.kubectlJson<{ status?: { certificate?: string } }>(
      ["get", "csr", name],
    );
    if (csr.status?.certificate) return { certPem: atob(csr.status.certificate), keyPem };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`CSR ${name} got no certificate`);
}

/** The pipeline's kubeconfig: one cluster (the load balancer), one user, one context. */
function pipelineKubeconfig(endpoint: string, caPem: string, certPem: string, keyPem: string) {
  return [
    "apiVersion: v1",
    "kind: Config",
    "# the pipeline's own kubeconfig",
    "clusters:",
    "- name: demo",
    "  cluster:",
    `    server: ${endpoint}`,
    `    certificate-authority-data: ${btoa(caPem)}`,
    "users:",
    `- name: ${USER}`,
    "  user:",
    `    client-certificate-data: ${btoa(certPem)}`,
    `    client-key-data: ${btoa(keyPem)}`,
    "contexts:",
    "- name: demo",
    "  context:",
    "    cluster: demo",
    `    user: ${USER}`,
    "current-context: demo",
    "",
  ].join("\n");
}

const pemBody = (pem: string) =>
  pem.split("\n").filter((line) => line && !line.startsWith("-----")).join("");

/** Fails when `texts` hold a piece of the key's body. */
function assertNoKey(keyPem: string, ...texts: string[]) {
  const body = pemBody(keyPem);
  const all = texts.join("\n");
  for (let i = 0; i + 16 <= body.length; i += 8) {
    assert.ok(!all.includes(body.slice(i, i + 16)), "the client key leaked into the output");
  }
}

/** Probes with `kubeconfig` for `ms`. */
async function briefProbe(endpoint: string, kubeconfig: string, ms = 2500): Promise<ProbeCounts> {
  const probe = startProbe(endpoint, kubeconfig, 100);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return await probe.stop();
}

Deno.test({
  name: "kubeconfig brings a pipeline's kubeconfig along trust, switch and finalize",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const started = Date.now();
  const cluster = await startCluster({ apiServers: 2, nodes: 1 });
  const work = await Deno.makeTempDir({ prefix: "ca-rotator-kubeconfig-" });
  let probe: ReturnType<typeof startProbe> | undefined;
  try {
    const plan = join(work, "local-demo.yaml");
    const source = await Deno.readTextFile(join(repo, "plans/local-demo.yaml"));
    const withStop = (phase: string) =>
      Deno.writeTextFile(plan, source.replace(/^stopAfter: .*$/m, `stopAfter: ${phase}`));
    const caRotator = (args: string[]): Promise<RunResult> => runCaRotator(cluster.env, args);
    const rotate = async (phase: string) => {
      await withStop(phase);
      const run = await caRotator(["rotate", "--plan", plan]);
      assert.equal(run.code, 0, `rotate ${phase}: ${run.stderr.slice(-3000)}`);
    };
    const pipeline = join(work, "ci.kubeconfig");
    const before = join(work, "before.kubeconfig");
    const bundleOnly = join(work, "bundle-old-client.kubeconfig");
    /** `kubeconfig` as a pipeline runs it: the admin connection, the pipeline's file in place. */
    const bringAlong = async (...extra: string[]) => {
      const run = await caRotator([
        "kubeconfig",
        "--plan",
        plan,
        "--in",
        pipeline,
        "--out",
        pipeline,
        "-o",
        "json",
        ...extra,
      ]);
      assert.equal(run.code, 0, run.stderr);
      const doc = JSON.parse(run.stdout);
      assert.equal(doc.kind, "KubeconfigResult");
      assert.equal((await Deno.stat(pipeline)).mode! & 0o777, 0o600);
      const text = await Deno.readTextFile(pipeline);
      assertNoKey(kubeconfigClientCert(text).keyPem!, run.stdout, run.stderr);
      console.log(`kubeconfig ${extra.join(" ")}: ${run.stderr.trim().replaceAll("\n", "\n  ")}`);
      return { doc, text, stderr: run.stderr };
    };
    const cas = (text: string) => parseCertificates(kubeconfigCaData(text)[0]).length;

    await cluster.kubectl([
      "create",
      "clusterrole",
      "ci-reader",
      "--verb=get,list",
      "--resource=nodes,namespaces",
    ]);
    await cluster.kubectl([
      "create",
      "clusterrolebinding",
      "ci-reader",
      "--clusterrole=ci-reader",
      `--group=${GROUP}`,
    ]);
    const oldCa = await Deno.readTextFile(join(cluster.nodeRoots[0], "etc/kubernetes/pki/ca.crt"));
    const first = await firstClientCertificate(cluster);
    await Deno.writeTextFile(
      pipeline,
      pipelineKubeconfig(cluster.endpoint, oldCa, first.certPem, first.keyPem),
      { mode: 0o600 },
    );
    await Deno.copyFile(pipeline, before);
    await withStop("trust");

    await t.step("bad input: exit 2 naming the file or field, nothing written", async () => {
      const notYaml = join(work, "not-yaml.kubeconfig");
      await Deno.writeTextFile(notYaml, "clusters: [unclosed\n  - {");
      const other = join(work, "other.kubeconfig");
      await Deno.writeTextFile(
        other,
        pipelineKubeconfig("https://192.0.2.1:6443", oldCa, first.certPem, first.keyPem),
      );
      const out = join(work, "never-written");
      for (
        const [input, message] of [
          [
            join(work, "missing.kubeconfig"),
            /Cannot read --in ".*missing\.kubeconfig": file not found/,
          ],
          [notYaml, /not-yaml\.kubeconfig: not valid YAML/],
          [
            other,
            /other\.kubeconfig: no cluster's server is this cluster's .*demo \(https:\/\/192\.0\.2\.1:6443\)/,
          ],
        ] as const
      ) {
        const run = await caRotator(["kubeconfig", "--plan", plan, "--in", input, "--out", out]);
        assert.equal(run.code, 2, run.stderr);
        assert.match(run.stderr, message);
      }
      await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
    });

    await t.step("before the rotation: the old CA, nothing to change", async () => {
      const { doc } = await bringAlong();
      assert.equal(doc.stage, "before");
      assert.equal(doc.caData, "old");
      assert.equal(doc.changed, false);
      assert.equal(doc.client.issuer, "old");
      assert.deepEqual(doc.client.groups, [GROUP]);
      const status = await caRotator(["status", "--plan", plan]);
      assert.match(status.stdout, /^Kubeconfigs: after the trust phase and before the switch/m);
    });

    probe = startProbe(cluster.endpoint, pipeline);

    await t.step("after trust: the bundle of old and new CA", async () => {
      await rotate("trust");
      const { doc, text, stderr } = await bringAlong();
      assert.equal(doc.stage, "trust");
      assert.equal(doc.caData, "bundle");
      assert.equal(doc.changed, true);
      assert.deepEqual(doc.clusters[0].after.map((ca: { role: string }) => ca.role), [
        "old",
        "new",
      ]);
      assert.match(stderr, /cluster "demo" \(https:.*\): CA set to the bundle of old and new CA/);
      assert.equal(cas(text), 2);
      await Deno.writeTextFile(bundleOnly, text, { mode: 0o600 });
      const status = await caRotator(["status", "--plan", plan]);
      assert.match(status.stdout, /^Kubeconfigs: before the switch, bring every kubeconfig's CA/m);
    });

    await t.step("after the switch: a renewed client certificate, from the new CA", async () => {
      await rotate("switch");
      const status = await caRotator(["status", "--plan", plan]);
      assert.match(status.stdout, /^Kubeconfigs: before finalize, renew every client certificate/m);
      const plain = await bringAlong();
      assert.equal(plain.doc.stage, "switched");
      assert.equal(plain.doc.changed, false);
      assert.match(
        plain.stderr,
        /issued by the old CA: renew it \(--renew-client\) before finalize/,
      );
      const { doc, text } = await bringAlong("--renew-client");
      assert.equal(doc.caData, "bundle");
      assert.equal(doc.renewed.issuer, "new", "the controller-manager signs with the new CA");
      assert.equal(doc.renewed.commonName, USER);
      assert.deepEqual(doc.renewed.groups, [GROUP]);
      assert.equal(doc.renewed.approvedBy, "ca-rotator");
      assert.deepEqual(doc.warnings, []);
      assert.notEqual(kubeconfigClientCert(text).keyPem, first.keyPem, "a new key");
    });

    await t.step("after finalize: the new CA alone", async () => {
      await rotate("finalize");
      const { doc, text } = await bringAlong();
      assert.equal(doc.stage, "complete");
      assert.equal(doc.caData, "new");
      assert.deepEqual(doc.clusters[0].after.map((ca: { role: string }) => ca.role), ["new"]);
      assert.equal(cas(text), 1);
      assert.equal(doc.client.issuer, "new");
    });

    await t.step("the pipeline's kubeconfig worked throughout", async () => {
      await new Promise((resolve) => setTimeout(resolve, 1500)); // a few requests on the new CA
      const counts = await probe!.stop();
      probe = undefined;
      console.log(`probe with the brought-along kubeconfig: ${JSON.stringify(counts)}`);
      assert.ok(counts.requests > 100, `the probe ran (${counts.requests} requests)`);
      assert.equal(counts.tlsFailures, 0, `TLS failures (last: ${counts.lastFailure})`);
      assert.equal(counts.unauthorized, 0, `401s (last: ${counts.lastFailure})`);
      // Other failures are availability (an API server restarting), not the kubeconfig's doing:
      // printed above, not held to zero here (haproxy redispatches refused connections, but a
      // connection cut by a server shutting down is not retried).
    });

    await t.step("negative controls: the kubeconfigs not brought along fail", async () => {
      const stale = await briefProbe(cluster.endpoint, before);
      console.log(`probe with the kubeconfig from before the rotation: ${JSON.stringify(stale)}`);
      assert.equal(stale.ok, 0);
      assert.equal(stale.tlsFailures, stale.requests, "old CA only: the server is not trusted");
      const unrenewed = await briefProbe(cluster.endpoint, bundleOnly);
      console.log(
        `probe with the bundle but the old-CA client certificate: ${JSON.stringify(unrenewed)}`,
      );
      assert.equal(unrenewed.ok, 0);
      assert.equal(unrenewed.unauthorized, unrenewed.requests, "old-CA client certificate: 401");
      const fresh = await briefProbe(cluster.endpoint, pipeline);
      assert.equal(fresh.ok, fresh.requests, `the brought-along one works: ${fresh.lastFailure}`);
    });
    console.log(`kubeconfig cluster test: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await probe?.stop();
    await cluster.stop();
    await Deno.remove(work, { recursive: true });
  }
});
