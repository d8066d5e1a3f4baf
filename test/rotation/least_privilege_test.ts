/**
 * The rotation run as the user deploy/rbac.yaml binds, on the real control plane: the dry run as
 * an operator with a client certificate in the group `ca-rotator:operators`, the rotation itself
 * (trust → switch → finalize, moving stopAfter) as the ServiceAccount kube-system/ca-rotator with
 * a token, as a pipeline would. Negative control: the same RBAC without `patch` on Deployments,
 * DaemonSets and StatefulSets stops the run at the first roll, with a forbidden error naming the
 * step, and nothing after it runs. Then everything the rotation emitted outside key files — its
 * output (text and JSON, dry run included), the ConfigMaps of kube-system and kube-public, the
 * Events of kube-system — is scanned for the private keys of the old and new CAs and of every
 * re-issued leaf, and the key files and their backups on the nodes must be 0600.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { eventually, startCluster, type TestCluster } from "../cluster/harness.ts";
import { clusterObjects, deployTeamWorkloads } from "./fixtures.ts";
import { assertExit, runCaRotator, type RunResult } from "./ca_rotator_process.ts";
import { dryRunJsonArgs } from "./end_state.ts";
import { namingWebhook, WEBHOOK, webhookConfiguration, webhookTrust } from "./unused_webhook.ts";
import { describeLeak, findLeaks, keyNeedles, type Needle } from "./secret_scan.ts";
import { manifestFlags } from "../../src/formats/static_pod_manifest.ts";

const repo = new URL("../../", import.meta.url).pathname;
const RBAC = await Deno.readTextFile(join(repo, "deploy/rbac.yaml"));
const PLAN_NAME = "local-demo";
const SERVICE_ACCOUNT = "system:serviceaccount:kube-system:ca-rotator";

/**
 * deploy/rbac.yaml for the plan, as README says to apply it: the plan's name, and the rule the
 * file's head shows for the objects of update-ca-bundles, naming the plan's webhook.
 */
function rbacForPlan(text = RBAC): string {
  const example = text.match(/Add a rule with their names, e\.g\.\n((?:# {7}.*\n)+)/);
  assert.ok(example, "deploy/rbac.yaml shows the update-ca-bundles rule");
  const rule = example[1].replaceAll(/^# {5}/gm, "").replace("[policy]", `[${WEBHOOK}]`);
  const clusterRole = /kind: ClusterRole\nmetadata:\n(?: {2}.*\n)+rules:\n/;
  assert.match(text, clusterRole);
  return text.replaceAll("kubeadm-ha", PLAN_NAME).replace(clusterRole, (head) => head + rule);
}

/** The same RBAC without `patch` on the workloads: roll-workloads cannot roll anything. */
function withoutWorkloadUpdate(): string {
  const from =
    "resources: [deployments, daemonsets, statefulsets]\n    verbs: [get, list, watch, patch]";
  assert.ok(RBAC.includes(from), "deploy/rbac.yaml has the workloads rule");
  return rbacForPlan(RBAC.replace(from, from.replace(", patch]", "]")));
}

async function applyRbac(cluster: TestCluster, text: string, canUpdate: boolean): Promise<void> {
  await cluster.kubectl(["apply", "-f", "-"], { stdin: text });
  // The authorizer's cache follows RBAC objects by watch: wait until it says what was applied.
  await eventually(
    `the authorizer to ${canUpdate ? "allow" : "refuse"} patching Deployments`,
    async () => (await canI(cluster, ["patch", "deployments.apps", "-n", "team-a"])) === canUpdate,
  );
}

/** `kubectl auth can-i … --as` the ServiceAccount. */
async function canI(cluster: TestCluster, args: string[]): Promise<boolean> {
  const output = await new Deno.Command("kubectl", {
    args: ["auth", "can-i", ...args, "--as", SERVICE_ACCOUNT],
    env: cluster.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return output.code === 0;
}

/** A kubeconfig for the load balancer, trusting `caPem`, authenticating as `user` says. */
async function writeKubeconfig(
  path: string,
  cluster: TestCluster,
  caPem: string,
  user: Record<string, string>,
): Promise<void> {
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{
        name: "cluster",
        cluster: { server: cluster.endpoint, "certificate-authority-data": btoa(caPem) },
      }],
      users: [{ name: "user", user }],
      contexts: [{ name: "ctx", context: { cluster: "cluster", user: "user" } }],
      "current-context": "ctx",
    }),
    { mode: 0o600 },
  );
}

async function openssl(args: string[]): Promise<void> {
  const output = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
    .output();
  if (output.code !== 0) {
    throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(output.stderr)}`);
  }
}

/** A client certificate of the cluster CA for `alice` in the group ca-rotator:operators. */
async function operatorCertificate(dir: string, root: string) {
  const key = join(dir, "operator.key");
  const csr = join(dir, "operator.csr");
  const crt = join(dir, "operator.crt");
  const ext = join(dir, "operator.ext");
  await Deno.writeTextFile(ext, "extendedKeyUsage=clientAuth\n");
  await openssl([
    "req",
    "-new",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    key,
    "-subj",
    "/CN=alice/O=ca-rotator:operators",
    "-out",
    csr,
  ]);
  await openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    join(root, "etc/kubernetes/pki/ca.crt"),
    "-CAkey",
    join(root, "etc/kubernetes/pki/ca.key"),
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    ext,
    "-out",
    crt,
  ]);
  return { certPem: await Deno.readTextFile(crt), keyPem: await Deno.readTextFile(key) };
}

/** Every file under `dir` (recursively), with its mode. */
async function filesUnder(dir: string): Promise<{ path: string; mode: number }[]> {
  const found: { path: string; mode: number }[] = [];
  const walk = async (current: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(current));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile) found.push({ path, mode: (await Deno.stat(path)).mode! & 0o777 });
    }
  };
  await walk(dir);
  return found;
}

const holdsPrivateKey = (text: string) =>
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|client-key-data:/.test(text);

Deno.test({
  name: "the rotation runs as the user deploy/rbac.yaml binds, and emits no key material",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const cluster = await startCluster({ apiServers: 1, nodes: 2 });
  try {
    await deployTeamWorkloads(cluster);
    const dir = await Deno.makeTempDir({ prefix: "ca-rotator-rbac-" });
    const root1 = cluster.nodeRoots[0];
    const pki = join(root1, "etc/kubernetes/pki");
    const oldCa = await Deno.readTextFile(join(pki, "ca.crt"));
    const oldKeys = new Map<string, string>();
    for (const name of ["ca.key", "front-proxy-ca.key", "sa.key"]) {
      oldKeys.set(`old ${name}`, await Deno.readTextFile(join(pki, name)));
    }

    const planPath = join(dir, "local-demo.yaml");
    const demoPlan = namingWebhook(
      await Deno.readTextFile(join(repo, "plans/local-demo.yaml")),
    );
    const writePlan = (stopAfter: string) =>
      Deno.writeTextFile(planPath, demoPlan.replace(/^stopAfter: .*$/m, `stopAfter: ${stopAfter}`));

    // Everything the rotation prints, for the scan at the end.
    const outputs: { what: string; result: RunResult }[] = [];
    const tokenKubeconfig = join(dir, "ca-rotator.kubeconfig");
    const operatorKubeconfig = join(dir, "operator.kubeconfig");
    const run = async (what: string, kubeconfig: string, args: string[]) => {
      const result = await runCaRotator(
        { ...cluster.env, KUBECONFIG: kubeconfig },
        [...args, "--kubeconfig", kubeconfig],
      );
      outputs.push({ what, result });
      return result;
    };
    const rotate = (what: string, extra: string[] = []) =>
      run(what, tokenKubeconfig, ["rotate", "--plan", planPath, ...extra]);

    let token = "";
    let operatorKey = "";
    let newCa = "";
    await t.step("deploy/rbac.yaml applies; its subjects get a kubeconfig each", async () => {
      await applyRbac(cluster, rbacForPlan(), true);
      await cluster.kubectl(["apply", "-f", "-"], { stdin: webhookConfiguration(oldCa) });
      token = (await cluster.kubectl([
        "create",
        "token",
        "ca-rotator",
        "-n",
        "kube-system",
        "--duration=4h",
      ])).trim();
      await writeKubeconfig(tokenKubeconfig, cluster, oldCa, { token });
      const operator = await operatorCertificate(dir, root1);
      operatorKey = operator.keyPem;
      await writeKubeconfig(operatorKubeconfig, cluster, oldCa, {
        "client-certificate-data": btoa(operator.certPem),
        "client-key-data": btoa(operator.keyPem),
      });
      // Least privilege: neither can read other Secrets, nor write what the rotation does not.
      assert.equal(await canI(cluster, ["get", "secrets", "-n", "kube-system"]), false);
      assert.equal(await canI(cluster, ["list", "secrets", "-A"]), false);
      assert.equal(await canI(cluster, ["update", "deployments.apps", "-n", "team-a"]), false);
      assert.equal(await canI(cluster, ["delete", "configmaps", "-n", "kube-system"]), false);
      assert.equal(await canI(cluster, ["get", "nodes", "--subresource=proxy"]), false);
      assert.equal(
        await canI(cluster, ["update", "configmaps/kube-proxy", "-n", "kube-system"]),
        false,
      );
      assert.equal(
        await canI(cluster, ["get", `secrets/ca-rotator-${PLAN_NAME}-new-ca`, "-n", "kube-system"]),
        true,
      );
      assert.equal(
        await canI(cluster, ["update", `validatingwebhookconfigurations/${WEBHOOK}`]),
        true,
      );
      assert.equal(await canI(cluster, ["update", "validatingwebhookconfigurations/other"]), false);
      // What RBAC cannot limit, the admission policy does: no Secret of another name, none that
      // the token controller would fill with a ServiceAccount's token (server-side dry runs).
      const planted = join(dir, "planted.json");
      const tryCreate = async (object: unknown) => {
        await Deno.writeTextFile(planted, JSON.stringify(object));
        return await kubectlAs(cluster, tokenKubeconfig, [
          "create",
          "-f",
          planted,
          "--dry-run=server",
        ]).then(() => "created", (error) => String(error));
      };
      const secret = (name: string, type: string, annotations = {}) => ({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name, namespace: "kube-system", annotations },
        type,
      });
      await eventually(
        "the admission policy to refuse a Secret of another name",
        async () =>
          /ca-rotator creates only its own objects/.test(
            await tryCreate(secret("planted", "Opaque")),
          ),
      );
      assert.match(
        await tryCreate(
          secret(`ca-rotator-${PLAN_NAME}-new-ca`, "kubernetes.io/service-account-token", {
            "kubernetes.io/service-account.name": "namespace-controller",
          }),
        ),
        /new-CA Secret is of type Opaque/,
      );
      assert.equal(
        await tryCreate(secret(`ca-rotator-${PLAN_NAME}-new-ca`, "Opaque")),
        "created",
        "its own Secret may be created",
      );
    });

    await t.step(
      "the dry run, as an operator in ca-rotator:operators, changes nothing",
      async () => {
        await writePlan("trust");
        const before = await clusterObjects(cluster);
        const text = await run("dry run", operatorKubeconfig, [
          "rotate",
          "--plan",
          planPath,
          "--dry-run",
        ]);
        assertExit(text, 0, "rotate --dry-run");
        assert.match(text.stdout, /distribute-cluster-ca/);
        const json = await run("dry run (JSON)", operatorKubeconfig, dryRunJsonArgs(planPath));
        assertExit(json, 0, "rotate --dry-run --output json");
        const plan = JSON.parse(json.stdout);
        assert.ok(plan.summary.workloads >= 23, `workloads: ${plan.summary.workloads}`);
        assert.deepEqual(await clusterObjects(cluster), before, "no API object changed");
      },
    );

    await t.step(
      "without patch on the workloads the run stops at the first roll, naming the step",
      async () => {
        await applyRbac(cluster, withoutWorkloadUpdate(), false);
        const before = await clusterObjects(cluster);
        const apiserverManifest = join(root1, "etc/kubernetes/manifests/kube-apiserver.yaml");
        const flagsBefore = manifestFlags(await Deno.readTextFile(apiserverManifest));
        const result = await rotate("rotate (trust, RBAC without patch on the workloads)");
        assertExit(result, 1, "rotate without patch on the workloads");
        const failed = result.stderr.match(
          /\[(roll-kube-system-trust|roll-workloads-trust)\] apply:[^\n]*\n(?:[^\n]*\n)*?[^\n]*forbidden[^\n]*cannot patch resource "(deployments|daemonsets)" in API group "apps"/,
        );
        assert.ok(failed, `a forbidden error naming the roll step:\n${result.stderr.slice(-3000)}`);
        const stepId = failed[1];
        console.log(`negative control: ${result.stderr.match(/^error: .*$/m)?.[0]}`);
        assert.doesNotMatch(
          result.stderr,
          /Headers:|audit-id|\\"/,
          "the server's sentence, not a dump",
        );
        const after = await clusterObjects(cluster);
        assert.deepEqual(after.templates, before.templates, "no workload was rolled");
        const flagsAfter = manifestFlags(await Deno.readTextFile(apiserverManifest));
        assert.equal(
          flagsAfter.get("--client-ca-file"),
          flagsBefore.get("--client-ca-file"),
          "the steps after the roll did not run",
        );
        const lease = await cluster.kubectlJson<{ spec: { holderIdentity?: string } }>(
          ["get", "lease", `ca-rotator-${PLAN_NAME}`, "-n", "kube-system"],
        );
        assert.equal(lease.spec.holderIdentity, undefined, "the run lock is released");
        const progress = await cluster.kubectlJson<{ data: { steps: string } }>(
          ["get", "configmap", `ca-rotator-${PLAN_NAME}`, "-n", "kube-system"],
        );
        const steps = JSON.parse(progress.data.steps) as Record<string, { status: string }>;
        assert.equal(steps[stepId]?.status, "failed", progress.data.steps);
        assert.notEqual(steps["apiserver-trust-bundle"]?.status, "done");
      },
    );

    await t.step("trust, with the RBAC as shipped: the run resumes and completes", async () => {
      await applyRbac(cluster, rbacForPlan(), true);
      assertExit(await rotate("rotate (trust)"), 0, "rotate (trust)");
      assert.deepEqual(
        await webhookTrust(cluster, oldCa),
        { certificates: 2, holds: true },
        "update-ca-bundles set the webhook's caBundle to the bundle",
      );
      newCa = await Deno.readTextFile(join(pki, "ca-new.crt"));
    });

    await t.step(
      "switch: the operator trusts the bundle first, as the new CA will serve",
      async () => {
        // The API servers are about to serve the new CA's chain: the pipeline's kubeconfig takes
        // the bundle from kube-root-ca.crt, read with its own credentials.
        const bundle = await rootCaBundle(cluster, tokenKubeconfig);
        assert.ok(bundle.split("BEGIN CERTIFICATE").length - 1 === 2, "old + new CA");
        await writeKubeconfig(tokenKubeconfig, cluster, bundle, { token });
        await writeKubeconfig(operatorKubeconfig, cluster, bundle, {
          ...(JSON.parse(await Deno.readTextFile(operatorKubeconfig)).users[0].user),
        });
        await writePlan("switch");
        const result = await rotate("rotate (switch, JSON)", ["--output", "json"]);
        assertExit(result, 0, "rotate (switch)");
        JSON.parse(result.stdout);
        // The operator's old-CA client certificate still works: the old CA is trusted until
        // finalize.
        await kubectlAs(cluster, operatorKubeconfig, ["get", "--raw", "/version"]);
      },
    );

    await t.step(
      "finalize: the old CA goes; the token still works, the old-CA certificate not",
      async () => {
        await writePlan("finalize");
        const finalized = await rotate("rotate (finalize)");
        assertExit(finalized, 0, "rotate (finalize)");
        // What the kubelet gate did with the CSR API (as the node, or as ca-rotator).
        for (const line of finalized.stderr.match(/^.*(created CSR|approving it).*$/gm) ?? []) {
          console.log(`finalize: ${line}`);
        }
        const refused = await kubectlAs(cluster, operatorKubeconfig, ["get", "--raw", "/version"])
          .then(() => "", (error) => String(error));
        assert.match(refused, /Unauthorized|401/, "a client certificate of the old CA is refused");
        assertExit(
          await run("status", tokenKubeconfig, ["status", "--plan", planPath]),
          0,
          "status",
        );
        assertExit(
          await run("status (JSON)", tokenKubeconfig, [
            "status",
            "--plan",
            planPath,
            "--output",
            "json",
          ]),
          0,
          "status --output json",
        );
        assertExit(
          await run("verify-kubelets", tokenKubeconfig, ["verify-kubelets", "--plan", planPath]),
          0,
          "verify-kubelets",
        );
        assert.deepEqual(await webhookTrust(cluster, newCa), { certificates: 1, holds: true });
        assert.equal((await webhookTrust(cluster, oldCa)).holds, false, "the webhook: new CA only");
        const again = await rotate("rotate (again)");
        assertExit(again, 0, "rotate (again)");
        assert.match(again.stderr, /No changes\./);
      },
    );

    await t.step("nothing the rotation emitted holds key material", async () => {
      const secret = await cluster.kubectlJson<{ data: Record<string, string> }>(
        ["get", "secret", `ca-rotator-${PLAN_NAME}-new-ca`, "-n", "kube-system"],
      );
      assert.deepEqual(
        Object.keys(secret.data).filter((name) => name.endsWith(".key")),
        [],
        "the new CAs' keys left the Secret once the nodes held them; the certificates stay",
      );
      const keys = new Map(oldKeys);
      for await (const entry of Deno.readDir(pki)) {
        if (entry.name.endsWith(".key")) {
          keys.set(`${entry.name} (now)`, await Deno.readTextFile(join(pki, entry.name)));
        }
      }
      assert.ok(keys.size >= 8, `keys to look for: ${[...keys.keys()].join(", ")}`);
      const needles: Needle[] = [];
      for (const [name, pem] of keys) needles.push(...await keyNeedles(name, pem));
      // The credentials the runs were given: the operator's key and the ServiceAccount token.
      needles.push(...await keyNeedles("the operator's client key", operatorKey));
      needles.push(
        { label: "the ServiceAccount token", value: token },
        { label: "the ServiceAccount token's signature", value: token.split(".")[2] },
      );

      const scanned: [string, string][] = [];
      for (const { what, result } of outputs) {
        scanned.push([`${what}: stdout`, result.stdout], [`${what}: stderr`, result.stderr]);
      }
      for (const namespace of ["kube-system", "kube-public"]) {
        scanned.push([
          `ConfigMaps of ${namespace}`,
          await cluster.kubectl(["get", "configmaps", "-n", namespace, "-o", "json"]),
        ]);
      }
      scanned.push([
        "Events of kube-system",
        await cluster.kubectl(["get", "events", "-n", "kube-system", "-o", "json"]),
      ]);
      // The scan can fail: the new CAs' keys in a Secret, as the rotation's held them in trust.
      const secretJson = JSON.stringify({
        ...secret,
        data: {
          ...secret.data,
          "cluster.key": btoa(keys.get("ca.key (now)")!),
          "frontProxy.key": btoa(keys.get("front-proxy-ca.key (now)")!),
        },
      });
      const inSecret = findLeaks("the new-CA Secret, keys planted", secretJson, needles);
      assert.ok(
        inSecret.some((leak) => leak.label.startsWith("ca.key (now)")) &&
          inSecret.some((leak) => leak.label.startsWith("front-proxy-ca.key (now)")),
        `the scan finds the keys in the Secret: ${inSecret.map(describeLeak).join("; ")}`,
      );
      const leaks = scanned.flatMap(([where, text]) => findLeaks(where, text, needles));
      const bytes = scanned.reduce((sum, [, text]) => sum + text.length, 0);
      console.log(
        `secret scan: ${needles.length} forms of ${keys.size} keys and 2 credentials in ` +
          `${scanned.length} texts ` +
          `(${bytes} characters): ${leaks.length} found`,
      );
      assert.deepEqual(leaks.map(describeLeak), []);
      assert.ok(outputs.length >= 10, `outputs scanned: ${outputs.length}`);
    });

    await t.step("key files and their backups are 0600 on every node", async () => {
      const wrong: string[] = [];
      let keyFiles = 0;
      let backups = 0;
      for (const root of [...cluster.nodeRoots, ...cluster.workerRoots]) {
        const backupDir = join(root, "var/lib/ca-rotator/backup");
        for (
          const dir of ["etc/kubernetes", "var/lib/kubelet/pki", "var/lib/ca-rotator/backup"]
        ) {
          for (const file of await filesUnder(join(root, dir))) {
            if (!holdsPrivateKey(await Deno.readTextFile(file.path))) continue;
            keyFiles++;
            if (file.path.startsWith(backupDir)) backups++;
            if (file.mode !== 0o600) {
              wrong.push(`${relative(root, file.path)}: ${file.mode.toString(8)}`);
            }
          }
        }
      }
      console.log(`key files: ${keyFiles}, of which backups: ${backups}`);
      assert.ok(backups >= 10, `backups of key files: ${backups}`);
      assert.deepEqual(wrong, [], "key files not 0600");
    });
  } finally {
    await cluster.stop();
  }
});

/** kubectl with `kubeconfig` (not the admin's); throws with its stderr when it fails. */
async function kubectlAs(
  cluster: TestCluster,
  kubeconfig: string,
  args: string[],
): Promise<string> {
  const output = await new Deno.Command("kubectl", {
    args: ["--kubeconfig", kubeconfig, ...args],
    env: { ...cluster.env, KUBECONFIG: kubeconfig },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  if (output.code !== 0) throw new Error(decode(output.stderr));
  return decode(output.stdout);
}

/** kube-system's kube-root-ca.crt, listed by name as the ServiceAccount may. */
async function rootCaBundle(cluster: TestCluster, kubeconfig: string): Promise<string> {
  const list = JSON.parse(
    await kubectlAs(cluster, kubeconfig, [
      "get",
      "configmaps",
      "-n",
      "kube-system",
      "--field-selector",
      "metadata.name=kube-root-ca.crt",
      "-o",
      "json",
    ]),
  ) as { items: { data: Record<string, string> }[] };
  assert.equal(list.items.length, 1);
  return list.items[0].data["ca.crt"];
}
