/**
 * A rotation of a cluster set up unlike kubeadm's default, to the normal end state: the new
 * cluster CA is given as files — an intermediate CA whose certificate file carries its root —
 * and the controller-manager signs with per-signer flags (`--cluster-signing-<signer>-*-file`)
 * instead of the single pair. Afterwards no Secret, ConfigMap or Event holds a CA private key
 * (the negative control plants one in a Secret and the same scan finds it), and kubeadm's own
 * `certs check-expiration` and `certs renew all` work against the new CA.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { eventually, startCluster } from "../cluster/harness.ts";
import { writeCaFixtures } from "../bad_inputs/ca_fixtures.ts";
import { assertExit, assertOldCaGone, base64Body, caRotator } from "./end_state.ts";
import { kubeadm, KUBEADM_CONFIG_PATH } from "../cluster/kubeadm.ts";
import { kubeconfigCaData, kubeconfigClientCert } from "../../src/formats/kubeconfig_file.ts";
import { findKeysInCluster } from "./cluster_key_scan.ts";
import { issuedBy, parseCertificate, parseCertificates } from "../../src/pki/mod.ts";
import { signerPair, SIGNERS } from "../../src/steps/_controller_manager_signing.ts";

const repo = new URL("../../", import.meta.url).pathname;
const PKI = "/etc/kubernetes/pki";

/** The manifest's single signing pair replaced by a pair for each signer, on the same files. */
function perSignerManifest(text: string): string {
  const single =
    / {4}- --cluster-signing-cert-file=(\S+)\n {4}- --cluster-signing-key-file=(\S+)\n/;
  const match = text.match(single);
  assert.ok(match, "kubeadm's controller-manager manifest sets the single pair");
  const pairs = SIGNERS.map((signer) =>
    `    - ${signerPair(signer).cert}=${match[1]}\n    - ${signerPair(signer).key}=${match[2]}\n`
  ).join("");
  return text.replace(single, pairs);
}

Deno.test({
  name: "a given intermediate CA with its chain, a per-signer controller-manager: the normal end " +
    "state, and no CA key left in the cluster",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const cluster = await startCluster({ apiServers: 1, nodes: 1 });
  try {
    const root = cluster.nodeRoots[0];
    const pki = join(root, PKI);
    const manifest = join(root, "etc/kubernetes/manifests/kube-controller-manager.yaml");
    const kubeadmManifest = await Deno.readTextFile(manifest);
    const caDir = await Deno.makeTempDir({ prefix: "ca-rotator-given-ca-" });
    await writeCaFixtures(caDir);

    await t.step(
      "negative controls: the controller-manager refuses both kinds of signing flags, and a signer file with a chain",
      async () => {
        const log = join(root, "var/log/kube-controller-manager.log");
        const refusedWith = async (text: string, what: string, says: RegExp) => {
          const before = (await cluster.componentStatus(0, "kube-controller-manager")).restarts;
          await Deno.writeTextFile(manifest, text);
          await eventually(`the controller-manager to exit with ${what}`, async () => {
            const status = await cluster.componentStatus(0, "kube-controller-manager");
            return status.restarts > before + 1 && status.lastRestartReason === "exited" &&
              status.lastExit !== null && status.lastExit.code !== 0 &&
              says.test(await Deno.readTextFile(log));
          }, 90_000);
        };
        // What set-component-flags wrote before it knew per-signer flags: the single pair added.
        await refusedWith(
          perSignerManifest(kubeadmManifest).replace(
            "    - --kubeconfig=",
            `    - --cluster-signing-cert-file=${PKI}/ca.crt\n` +
              `    - --cluster-signing-key-file=${PKI}/ca.key\n    - --kubeconfig=`,
          ),
          "both kinds of pair",
          /cannot specify --cluster-signing-\{cert,key\}-file and other --cluster-signing-\*-file flags at the same time/,
        );
        // What a given CA's whole file in ca.crt did: a signer given two certificates.
        await Deno.copyFile(join(caDir, "chain.crt"), join(pki, "signer-chain.crt"));
        await Deno.copyFile(join(caDir, "intermediate.key"), join(pki, "signer-chain.key"));
        await refusedWith(
          perSignerManifest(kubeadmManifest)
            .replace(
              `${signerPair("legacy-unknown").cert}=${PKI}/ca.crt`,
              `${signerPair("legacy-unknown").cert}=${PKI}/signer-chain.crt`,
            )
            .replace(
              `${signerPair("legacy-unknown").key}=${PKI}/ca.key`,
              `${signerPair("legacy-unknown").key}=${PKI}/signer-chain.key`,
            ),
          "a chain as a signer's certificate",
          /expected 1 certificate, found 2/,
        );
        await Deno.remove(join(pki, "signer-chain.crt"));
        await Deno.remove(join(pki, "signer-chain.key"));
      },
    );

    await Deno.writeTextFile(manifest, perSignerManifest(kubeadmManifest));
    const perSignerFlag = `${signerPair("kubelet-client").cert}=`;
    await eventually("the controller-manager running with per-signer flags", async () => {
      const status = await cluster.componentStatus(0, "kube-controller-manager");
      return status.command.some((arg) => arg.startsWith(perSignerFlag)) &&
        !status.command.some((arg) => arg.startsWith("--cluster-signing-cert-file=")) &&
        status.startedAt !== null && Date.now() - Date.parse(status.startedAt) > 10_000;
    }, 90_000);
    const intermediate = await Deno.readTextFile(join(caDir, "intermediate.crt"));
    const planPath = join(caDir, "plan.yaml");
    const givenCaPlan = (await Deno.readTextFile(join(repo, "plans/local-demo.yaml")))
      .replace(
        "cluster: { source: generate, algorithm: ecdsa-p256, commonName: kubernetes }",
        `cluster: { source: files, cert: chain.crt, key: intermediate.key }`,
      )
      .replace(/^stopAfter: .*$/m, "stopAfter: finalize");
    // The opt-in wait for legacy token Secrets, after each wait for kube-root-ca.crt.
    const tokenWait = (expect: string) =>
      `    expect: ${expect}\n    timeoutSeconds: 120\n\n  - id: wait-token-secrets-${expect}\n` +
      `    phase: ${expect === "new" ? "finalize" : "trust"}\n    kind: wait-token-secrets\n` +
      `    expect: ${expect}\n    timeoutSeconds: 120\n`;
    const withTokenWaits = givenCaPlan
      .replace("    expect: bundle\n    timeoutSeconds: 120\n", tokenWait("bundle"))
      .replace("    expect: new\n    timeoutSeconds: 120\n", tokenWait("new"));
    assert.equal(withTokenWaits.match(/kind: wait-token-secrets/g)?.length, 2);
    // The pod-trust gate counts the pods that mount a token Secret too.
    const gateLine = "    kind: verify-pod-trust\n";
    const withTokenGate = withTokenWaits.replace(gateLine, `${gateLine}    tokenSecrets: true\n`);
    assert.notEqual(withTokenGate, withTokenWaits);
    await Deno.writeTextFile(planPath, withTokenGate);

    // Legacy token Secrets: one a pod mounts, one no pod does (a CI system's credentials).
    const legacyReader = `apiVersion: v1
kind: Pod
metadata: { name: legacy-reader, namespace: default }
spec:
  serviceAccountName: legacy
  automountServiceAccountToken: false # it reads the legacy token Secret only
  containers: [{ name: app, image: busybox }]
  volumes: [{ name: token, secret: { secretName: legacy-token } }]
`;
    const readerRunning = () =>
      eventually(
        "default/legacy-reader running",
        async () =>
          (await cluster.kubectlJson<{ status?: { phase?: string } }>(
            ["get", "pod", "legacy-reader", "-n", "default"],
          )).status?.phase === "Running",
      );
    await cluster.kubectl(["create", "serviceaccount", "legacy", "-n", "default"]);
    await cluster.kubectl(["apply", "-f", "-"], {
      stdin: ["legacy-token", "ci-token"].map((name) =>
        `apiVersion: v1
kind: Secret
metadata:
  name: ${name}
  namespace: default
  annotations: { kubernetes.io/service-account.name: legacy }
type: kubernetes.io/service-account-token
---
`
      ).join("") + legacyReader,
    });
    const tokenCa = async (name: string) =>
      atob(
        (await cluster.kubectlJson<{ data?: Record<string, string> }>(
          ["get", "secret", name, "-n", "default"],
        )).data?.["ca.crt"] ?? "",
      );
    await eventually(
      "the controller-manager fills the token Secrets",
      async () =>
        (await tokenCa("legacy-token")).includes("CERTIFICATE") &&
        (await tokenCa("ci-token")).includes("CERTIFICATE"),
    );

    await t.step(
      "negative control: token Secrets still on the old CA alone hold a wait for the bundle",
      async () => {
        const control = join(caDir, "token-control.yaml");
        await Deno.writeTextFile(
          control,
          givenCaPlan.slice(0, givenCaPlan.indexOf("\nsteps:")).replace(
            /^ {2}name: local-demo$/m,
            "  name: token-control",
          ).replace(/^ {2}frontProxy: .*\n/m, "") +
            "\nsteps:\n  - id: tokens-bundle\n    phase: trust\n    kind: wait-token-secrets\n" +
            "    expect: bundle\n    timeoutSeconds: 3\n",
        );
        const held = await caRotator(cluster, ["rotate", "--plan", control]);
        assertExit(held, 1, "rotate (a wait for the bundle in token Secrets on the old CA alone)");
        assert.match(
          held.stderr,
          /\[tokens-bundle\] verify: after 3s, 2 of \d+ token Secrets' ca\.crt do not hold the bundle \(old \+ new CA\): .*default\/ci-token \(other CAs\), default\/legacy-token \(other CAs\)/,
        );
      },
    );
    const oldCa = await Deno.readTextFile(join(pki, "ca.crt"));
    const oldApiserver = parseCertificate(await Deno.readTextFile(join(pki, "apiserver.crt")));
    const oldFrontProxyCa = await Deno.readTextFile(join(pki, "front-proxy-ca.crt"));
    const oldKeys = {
      "old ca.key": await Deno.readTextFile(join(pki, "ca.key")),
      "old front-proxy-ca.key": await Deno.readTextFile(join(pki, "front-proxy-ca.key")),
    };

    await t.step(
      "the pod-trust gate holds the switch for a pod that read a token Secret's old ca.crt",
      async () => {
        await readerRunning();
        const held = await caRotator(cluster, ["rotate", "--plan", planPath]);
        assertExit(held, 3, "rotate (held at the pod-trust gate)");
        assert.match(
          held.stderr,
          /\[wait-token-secrets-bundle\] pods that mount one \(they read ca\.crt at start\): default\/legacy-reader → legacy-token/,
        );
        assert.match(
          held.stderr,
          /\[wait-token-secrets-bundle\] token Secrets no pod mounts — read from outside the cluster\?.*default\/ci-token/,
        );
        assert.match(
          held.stderr,
          /the new frontProxy CA's key left Secret kube-system\/ca-rotator-local-demo-new-ca: every control-plane node holds it/,
        );
        const gate = held.stderr.split("\n").find((line) => line.includes("trust the old CA only"));
        console.log(`gate: ${gate}`);
        assert.match(
          held.stderr,
          /\[pod-trust-gate\].*1 running pods trust the old CA only.*default\/legacy-reader \(owner Pod\/legacy-reader: .*; reads ca\.crt of token Secret legacy-token\)/,
        );
        // What the operator does: restart the pod, so it reads the bundle.
        await cluster.kubectl(["delete", "pod", "legacy-reader", "-n", "default", "--wait"]);
        await cluster.kubectl(["apply", "-f", "-"], { stdin: legacyReader });
        await readerRunning();
      },
    );

    await t.step("rotate on through switch → finalize: exit 0", async () => {
      const result = await caRotator(cluster, ["rotate", "--plan", planPath]);
      assertExit(result, 0, "rotate (finalize)");
      assert.match(
        result.stderr,
        /\[wait-token-secrets-new\] every token Secret's ca\.crt holds the new CA only/,
      );
      for (const name of ["legacy-token", "ci-token"]) {
        assert.equal(
          base64Body(await tokenCa(name)),
          base64Body(intermediate),
          `${name}: the new CA only`,
        );
      }
    });

    await t.step("the intermediate alone is the cluster CA, everywhere", async () => {
      const installed = parseCertificates(await Deno.readTextFile(join(pki, "ca.crt")));
      assert.equal(installed.length, 1, "ca.crt holds one certificate: the signer takes one");
      assert.equal(installed[0].subject, "CN=intermediate");
      await assertOldCaGone(cluster, { oldCa, oldFrontProxyCa, newCa: intermediate });
    });

    await t.step("each signer signs with the new CA; no single pair was added", async () => {
      const status = await cluster.componentStatus(0, "kube-controller-manager");
      for (const signer of SIGNERS) {
        const pair = signerPair(signer);
        assert.ok(status.command.includes(`${pair.cert}=${pki}/ca.crt`), pair.cert);
        assert.ok(status.command.includes(`${pair.key}=${pki}/ca.key`), pair.key);
      }
      assert.ok(
        !status.command.some((arg) => arg.startsWith("--cluster-signing-cert-file=")),
        "no --cluster-signing-cert-file beside them (the controller-manager would refuse)",
      );
      const kubelet = await Deno.readTextFile(
        join(root, "var/lib/kubelet/pki/kubelet-client-current.pem"),
      );
      assert.ok(
        await issuedBy(parseCertificate(kubelet), parseCertificate(intermediate)),
        "the kubelet's client certificate, signed through the kubelet-client signer's flags",
      );
    });

    await t.step("no Secret, ConfigMap or Event holds a CA private key", async () => {
      const keys = {
        ...oldKeys,
        "new ca.key (intermediate)": await Deno.readTextFile(join(caDir, "intermediate.key")),
        "new front-proxy-ca.key": await Deno.readTextFile(join(pki, "front-proxy-ca.key")),
      };
      const secret = await cluster.kubectlJson<{ data: Record<string, string> }>(
        ["get", "secret", "ca-rotator-local-demo-new-ca", "-n", "kube-system"],
      );
      assert.deepEqual(Object.keys(secret.data), ["frontProxy.crt"], "the certificate stays");
      const scan = await findKeysInCluster(cluster, keys);
      console.log(`key scan: ${scan.objects} objects, ${scan.leaks.length} keys found`);
      assert.deepEqual(scan.leaks, []);
      assert.ok(scan.objects > 50, `${scan.objects} objects searched`);

      // Negative control: the new CA's key, planted in a Secret as a Secret holds a file.
      await cluster.kubectl([
        "create",
        "secret",
        "generic",
        "planted",
        "-n",
        "default",
        `--from-file=tls.key=${join(caDir, "intermediate.key")}`,
      ]);
      const planted = await findKeysInCluster(cluster, keys);
      console.log(`key scan (planted): ${planted.leaks.length} forms found`);
      assert.ok(
        planted.leaks.some((leak) =>
          leak.startsWith("secrets/default/planted") && leak.includes("new ca.key (intermediate)")
        ),
        planted.leaks.join("\n"),
      );
    });

    await t.step(
      "kubeadm afterwards: check-expiration and renew work against the new CA",
      async () => {
        const config = `--config=${KUBEADM_CONFIG_PATH}`;
        const expiration = await kubeadm(cluster.binDir, root, [
          "certs",
          "check-expiration",
          config,
        ]);
        const caLine = expiration.split("\n").find((line) => /^ca\s+[A-Z]/.test(line));
        assert.ok(caLine, expiration);
        const newCa = parseCertificate(intermediate);
        assert.equal(
          new Date(
            caLine.match(/([A-Z][a-z]{2} \d{2}, \d{4} \d{2}:\d{2} UTC)/)![1].replace(",", ""),
          )
            .toISOString().slice(0, 16),
          newCa.notAfter.toISOString().slice(0, 16),
          `kubeadm's "ca" is the new CA: ${caLine}`,
        );
        const before = parseCertificate(await Deno.readTextFile(join(pki, "apiserver.crt")));
        await kubeadm(cluster.binDir, root, ["certs", "renew", "all", config]);
        const frontProxyCa = parseCertificate(
          await Deno.readTextFile(join(pki, "front-proxy-ca.crt")),
        );
        for (
          const [name, ca] of [
            ["apiserver", newCa],
            ["apiserver-kubelet-client", newCa],
            ["front-proxy-client", frontProxyCa],
          ] as const
        ) {
          const renewed = parseCertificate(await Deno.readTextFile(join(pki, `${name}.crt`)));
          assert.ok(await issuedBy(renewed, ca), `${name}.crt renewed by the new CA`);
        }
        const apiserver = parseCertificate(await Deno.readTextFile(join(pki, "apiserver.crt")));
        assert.notEqual(
          apiserver.serialNumber,
          before.serialNumber,
          "renew wrote a new apiserver.crt",
        );
        const admin = await Deno.readTextFile(join(root, "etc/kubernetes/admin.conf"));
        assert.equal(
          base64Body(kubeconfigCaData(admin)[0]),
          base64Body(intermediate),
          "admin.conf trusts the new CA alone",
        );
        assert.ok(await issuedBy(parseCertificate(kubeconfigClientCert(admin).certPem!), newCa));
        // The check can fail: the apiserver.crt of before the rotation is not the new CA's.
        assert.ok(!(await issuedBy(oldApiserver, newCa)), "the pre-rotation leaf is not");
        await cluster.kubectl([
          "--kubeconfig",
          join(root, "etc/kubernetes/admin.conf"),
          "get",
          "nodes",
        ]);
      },
    );
  } finally {
    await cluster.stop();
  }
});
