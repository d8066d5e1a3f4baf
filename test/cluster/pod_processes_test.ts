/**
 * Pod processes on a real control plane (1 API server, 1 kwok worker): a Deployment labelled
 * `ca-rotator.test/process: incluster-client` gets one real client-go process per pod, with a
 * token bound to the pod and the namespace's kube-root-ca.crt, for as long as the pod exists;
 * a pod whose ca.crt is an unrelated CA (the negative control) fails on the certificate; a pod
 * that mounts a legacy token Secret gets the Secret's files, synced as the kubelet syncs them,
 * and waits while that Secret does not exist.
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { eventually, startCluster, type TestCluster } from "./harness.ts";
import { runCommand } from "./managed_process.ts";
import { netnsMembers, netnsPath } from "./netns.ts";
import {
  CA_FILE_OVERRIDE_ANNOTATION,
  podFiles,
  type PodProcessRecord,
  PROCESS_LABEL,
  SYNC_FREQUENCY_ANNOTATION,
} from "./pod_processes.ts";
import { podEnv, SERVICE_ACCOUNT_PATH } from "./pod_process.ts";
import { readVolume } from "./pod_volume.ts";
import { processAlive, processGroupMembers, readState } from "./state.ts";
import { legacyTokenSecret } from "./pod_secret_volume.ts";

/** $STATUS_FILE of incluster-client (programs/cmd/incluster-client/status.go). */
interface ClientStatus {
  program: string;
  pid: number;
  namespace: string;
  pod: string;
  host: string;
  clientsAllowCARotation: boolean;
  requests: number;
  successes: number;
  failures: { certificate: number; unauthorized: number; connection: number; other: number };
  lastError: Record<string, { message: string; at: string }>;
  configMaps: number;
  watch: { opened: number; events: number; breaks: number; open: boolean };
  startedAt: string;
  updatedAt: string;
}

interface PodList {
  items: {
    metadata: { name: string; uid: string; deletionTimestamp?: string };
    status?: { phase?: string };
  }[];
}

const failureCount = (s: ClientStatus) =>
  s.failures.certificate + s.failures.unauthorized + s.failures.connection + s.failures.other;

/** A namespace and a ServiceAccount `reader` allowed to read its ConfigMaps. */
function access(namespace: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "List",
    items: [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "reader", namespace } },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "configmap-reader", namespace },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "configmap-reader", namespace },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "configmap-reader" },
        subjects: [{ kind: "ServiceAccount", name: "reader", namespace }],
      },
    ],
  });
}

/** A Deployment `client` running incluster-client as `reader`. */
function deployment(
  namespace: string,
  replicas: number,
  annotations: Record<string, string> = {},
): string {
  return stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "client", namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: "client" } },
      template: {
        metadata: { labels: { app: "client", [PROCESS_LABEL]: "incluster-client" }, annotations },
        spec: {
          serviceAccountName: "reader",
          containers: [{ name: "client", image: "ca-rotator.test/incluster-client" }],
        },
      },
    },
  });
}

/**
 * Creates the namespace, the ServiceAccount and its access, and waits until the authorizer lets
 * it list ConfigMaps (so that a first request is not refused while RBAC catches up).
 */
async function createAccess(cluster: TestCluster, namespace: string): Promise<void> {
  await cluster.kubectl(["apply", "-f", "-"], { stdin: access(namespace) });
  await eventually(`reader in ${namespace} to be allowed to list configmaps`, async () => {
    const out = await cluster.kubectl([
      "auth",
      "can-i",
      "list",
      "configmaps",
      "-n",
      namespace,
      `--as=system:serviceaccount:${namespace}:reader`,
    ]).catch(() => "no");
    return out.trim() === "yes";
  }, 30_000);
}

/** {@linkcode createAccess}, then the Deployment. */
async function createWorkload(
  cluster: TestCluster,
  namespace: string,
  replicas: number,
  annotations: Record<string, string> = {},
): Promise<void> {
  await createAccess(cluster, namespace);
  await cluster.kubectl(["apply", "-f", "-"], {
    stdin: deployment(namespace, replicas, annotations),
  });
}

/** A Pod running incluster-client with the token Secret `secret` at the ServiceAccount path. */
function legacyTokenPod(namespace: string, name: string, secret: string, syncSeconds: number) {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace,
      labels: { [PROCESS_LABEL]: "incluster-client" },
      annotations: { [SYNC_FREQUENCY_ANNOTATION]: String(syncSeconds) },
    },
    spec: {
      serviceAccountName: "reader",
      automountServiceAccountToken: false,
      volumes: [{ name: "legacy-token", secret: { secretName: secret } }],
      containers: [{
        name: "client",
        image: "ca-rotator.test/incluster-client",
        volumeMounts: [{ name: "legacy-token", mountPath: SERVICE_ACCOUNT_PATH, readOnly: true }],
      }],
    },
  });
}

/** Creates a legacy token Secret of `reader`; returns its data once the controller filled it. */
async function createTokenSecret(cluster: TestCluster, namespace: string, name: string) {
  await cluster.kubectl(["apply", "-f", "-"], {
    stdin: JSON.stringify(legacyTokenSecret(namespace, name, "reader")),
  });
  return await eventually(
    `${namespace}/${name} to hold a token`,
    () => secretData(cluster, namespace, name),
  );
}

/** A Secret's data, decoded; undefined while it has no token. */
async function secretData(cluster: TestCluster, namespace: string, name: string) {
  const secret = await cluster.kubectlJson<{ data?: Record<string, string> }>(
    ["-n", namespace, "get", "secret", name],
  );
  const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, atob(v)]));
  return data.token ? data : undefined;
}

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(path)) as T;
}

/** The claims of a JWT (its payload, base64url-decoded). */
function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.trim().split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
  return JSON.parse(atob(payload + "=".repeat((4 - payload.length % 4) % 4)));
}

/** The environment of a process, from /proc. */
async function processEnv(pid: number): Promise<Record<string, string>> {
  const raw = await Deno.readTextFile(`/proc/${pid}/environ`);
  return Object.fromEntries(
    raw.split("\0").filter(Boolean).map((
      kv,
    ) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
}

/** Running, not deleting pods of a namespace. */
async function runningPods(cluster: TestCluster, namespace: string) {
  const list = await cluster.kubectlJson<PodList>(["-n", namespace, "get", "pods"]);
  return list.items.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === "Running");
}

Deno.test({
  name: "pod processes: labelled kwok pods run incluster-client with what the kubelet gives a pod",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const cluster = await startCluster({ apiServers: 1, nodes: 1 });
    const stateDir = cluster.layout.options.stateDir;
    const pgid = cluster.state.supervisorPid!;
    const netns = cluster.state.network!.netns;
    const files = (ns: string, pod: string) => podFiles(stateDir, ns, pod);
    const seenPids: number[] = [];
    const clusterCa = () =>
      cluster.kubectlJson<{ data: Record<string, string> }>([
        "-n",
        "workload",
        "get",
        "configmap",
        "kube-root-ca.crt",
      ]).then((cm) => cm.data["ca.crt"]);

    /** Waits until the status file of every Running pod of `ns` satisfies `ok`; returns them. */
    const statuses = (
      ns: string,
      count: number,
      ok: (s: ClientStatus) => boolean,
      what: string,
      timeoutMs = 90_000,
    ) =>
      eventually(
        what,
        async () => {
          const pods = await runningPods(cluster, ns);
          if (pods.length !== count) return undefined;
          const found: {
            pod: string;
            uid: string;
            status: ClientStatus;
            record: PodProcessRecord;
          }[] = [];
          for (const p of pods) {
            const f = files(ns, p.metadata.name);
            const status = await readJson<ClientStatus>(f.statusFile).catch(() => undefined);
            const record = await readJson<PodProcessRecord>(f.recordFile).catch(() => undefined);
            if (!status || !record || record.uid !== p.metadata.uid || !ok(status)) {
              return undefined;
            }
            found.push({ pod: p.metadata.name, uid: p.metadata.uid, status, record });
          }
          return found;
        },
        timeoutMs,
        1000,
      );

    try {
      let pods: Awaited<ReturnType<typeof statuses>> = [];

      await t.step(
        "both pods of a Deployment run incluster-client; it reaches the API",
        async () => {
          await createWorkload(cluster, "workload", 2);
          pods = await statuses(
            "workload",
            2,
            (s) => s.successes > 0 && s.watch.opened > 0,
            "both pods' clients to have successes",
          );
          for (const { pod, status, record } of pods) {
            console.error(
              `  ${pod}: pid ${status.pid}, requests ${status.requests}, successes ${status.successes}, failures ${
                JSON.stringify(status.failures)
              }, watch ${JSON.stringify(status.watch)}`,
            );
            assert.equal(failureCount(status), 0, JSON.stringify(status.lastError));
            assert.equal(status.requests, status.successes);
            assert.equal(status.pod, pod);
            assert.equal(status.namespace, "workload");
            assert.equal(status.host, `https://${cluster.layout.endpoint.ip}:6443`);
            assert.ok(status.configMaps >= 1); // kube-root-ca.crt
            assert.equal(record.state, "running");
            assert.equal(record.pid, status.pid);
            assert.ok(processAlive(status.pid));
            seenPids.push(status.pid);
            // A real process of the supervisor's, inside the cluster's network namespace.
            assert.ok(processGroupMembers(pgid).includes(status.pid));
            assert.ok(netnsMembers(netnsPath(netns)).includes(status.pid));
            const cmdline = (await Deno.readTextFile(`/proc/${status.pid}/cmdline`)).split("\0");
            assert.equal(cmdline[0], `${cluster.binDir}/incluster-client`);
            // Its environment is its pod's and nothing else (not the supervisor's).
            const env = await processEnv(status.pid);
            const f = files("workload", pod);
            const expected = podEnv(
              {
                metadata: { name: pod, namespace: "workload" },
                spec: { containers: [{ name: "client" }] },
              },
              cluster.layout.endpoint,
              f,
            );
            assert.deepEqual(env, expected);
            assert.equal(env.KUBERNETES_SERVICE_HOST, `${cluster.layout.options.subnet}.100`);
            assert.equal(env.KUBERNETES_SERVICE_PORT, "6443");
            assert.equal(env.STATUS_FILE, f.statusFile);
          }
          const state = await readState(stateDir);
          for (const { pod, status } of pods) {
            assert.equal(state?.pids[`pod/workload/${pod}`], status.pid);
          }
        },
      );

      await t.step("the token is bound to the pod; ca.crt is kube-root-ca.crt's", async () => {
        const ca = await clusterCa();
        for (const { pod, uid, record } of pods) {
          const dir = files("workload", pod).serviceAccountDir;
          const claims = jwtClaims(await Deno.readTextFile(`${dir}/token`)) as {
            sub: string;
            exp: number;
            iat: number;
            "kubernetes.io": { namespace: string; pod: { name: string; uid: string } };
          };
          assert.equal(claims["kubernetes.io"].pod.name, pod);
          assert.equal(claims["kubernetes.io"].pod.uid, uid);
          assert.equal(claims["kubernetes.io"].namespace, "workload");
          assert.equal(claims.sub, "system:serviceaccount:workload:reader");
          assert.equal(claims.exp - claims.iat, 600);
          assert.equal(await Deno.readTextFile(`${dir}/ca.crt`), ca);
          assert.equal(await Deno.readTextFile(`${dir}/namespace`), "workload");
          // The kubelet's layout: ca.crt → ..data/ca.crt, ..data → ..<timestamp>.
          assert.equal(await Deno.readLink(`${dir}/ca.crt`), "..data/ca.crt");
          assert.match(
            await Deno.readLink(`${dir}/..data`),
            /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\./,
          );
          // Refreshed at 80 % of its lifetime.
          const exp = Date.parse(record.token!.expiresAt!);
          assert.equal(Date.parse(record.token!.refreshAt!), exp - 120_000);
          assert.equal(record.ca?.source, "configmap");
        }
      });

      await t.step("a deleted pod's process ends; its replacement's starts", async () => {
        const victim = pods[0];
        const survivor = pods[1];
        await cluster.kubectl(["-n", "workload", "delete", "pod", victim.pod, "--wait=false"]);
        await eventually(
          `the process of ${victim.pod} (pid ${victim.status.pid}) to end`,
          () => Promise.resolve(!processAlive(victim.status.pid)),
          30_000,
        );
        await eventually(
          `the directory of ${victim.pod} to be removed`,
          () => Deno.stat(files("workload", victim.pod).dir).then(() => false, () => true),
          30_000,
        );
        const after = await statuses(
          "workload",
          2,
          (s) => s.successes > 0,
          "a replacement pod's client to have successes",
        );
        const replacement = after.find((p) => p.pod !== survivor.pod)!;
        assert.ok(replacement.pod !== victim.pod);
        assert.notEqual(replacement.status.pid, victim.status.pid);
        assert.ok(processAlive(replacement.status.pid));
        assert.equal(failureCount(replacement.status), 0);
        seenPids.push(replacement.status.pid);
        // The survivor kept running, untouched.
        const kept = after.find((p) => p.pod === survivor.pod)!;
        assert.equal(kept.status.pid, survivor.status.pid);
        assert.equal(failureCount(kept.status), 0);
        console.error(
          `  ${replacement.pod} replaced ${victim.pod}: pid ${replacement.status.pid}, requests ${replacement.status.requests}, successes ${replacement.status.successes}`,
        );
        pods = after;
      });

      await t.step(
        "negative control: a pod whose ca.crt is an unrelated CA fails on the certificate",
        async () => {
          const wrongCa = await runCommand([
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-noenc",
            "-keyout",
            "/dev/null",
            "-subj",
            "/CN=unrelated-ca",
            "-days",
            "1",
          ]).then((out) =>
            out.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/)![0]
          );
          await createWorkload(cluster, "wrong-ca", 1, { [CA_FILE_OVERRIDE_ANNOTATION]: wrongCa });
          const [bad] = await statuses(
            "wrong-ca",
            1,
            (s) => s.failures.certificate > 0,
            "the wrong-CA pod's client to count certificate failures",
          );
          const s = bad.status;
          console.error(
            `  ${bad.pod} (wrong CA): requests ${s.requests}, successes ${s.successes}, failures ${
              JSON.stringify(s.failures)
            }; lastError.certificate: ${s.lastError.certificate?.message}`,
          );
          assert.equal(s.successes, 0);
          assert.equal(s.failures.certificate, s.requests);
          assert.match(
            s.lastError.certificate.message,
            /x509: certificate signed by unknown authority/,
          );
          const dir = files("wrong-ca", bad.pod).serviceAccountDir;
          assert.equal(await Deno.readTextFile(`${dir}/ca.crt`), wrongCa);
          assert.equal(bad.record.ca?.source, "override");
          // Its token is as good as the others': only the CA is wrong.
          const claims = jwtClaims(await Deno.readTextFile(`${dir}/token`)) as {
            "kubernetes.io": { pod: { name: string } };
          };
          assert.equal(claims["kubernetes.io"].pod.name, bad.pod);
          seenPids.push(s.pid);
        },
      );

      await t.step("ca.crt follows every change of kube-root-ca.crt", async () => {
        const ca = await clusterCa();
        const { pod } = pods[0];
        const f = files("workload", pod);
        const before = await readJson<PodProcessRecord>(f.recordFile);
        // The controller-manager puts the cluster CA back at once; the pod's ca.crt gets both.
        await cluster.kubectl([
          "-n",
          "workload",
          "patch",
          "configmap",
          "kube-root-ca.crt",
          "--type=merge",
          "-p",
          JSON.stringify({ data: { "ca.crt": "edited\n" } }),
        ]);
        const after = await eventually("ca.crt to be written twice more", async () => {
          const r = await readJson<PodProcessRecord>(f.recordFile);
          return r.ca!.writes >= before.ca!.writes + 2 ? r : undefined;
        }, 30_000);
        assert.equal(after.ca!.writes, before.ca!.writes + 2);
        assert.equal(await clusterCa(), ca);
        assert.equal(await Deno.readTextFile(`${f.serviceAccountDir}/ca.crt`), ca);
        // The process itself is the same one.
        assert.equal(after.pid, before.pid);
      });

      await t.step(
        "a pod mounting a legacy token Secret gets its keys; a new token reaches the file within the sync period",
        async () => {
          const syncSeconds = 3;
          await createAccess(cluster, "legacy-token");
          const data = await createTokenSecret(cluster, "legacy-token", "reader-token");
          await cluster.kubectl(["apply", "-f", "-"], {
            stdin: legacyTokenPod("legacy-token", "legacy-client", "reader-token", syncSeconds),
          });
          const [{ status, record }] = await statuses(
            "legacy-token",
            1,
            (s) => s.successes > 0,
            "the legacy-token pod's client to have successes",
          );
          const dir = files("legacy-token", "legacy-client").serviceAccountDir;
          // Exactly the Secret's keys, in the AtomicWriter's layout; no projected token.
          assert.deepEqual(await readVolume(dir), data);
          assert.equal(await Deno.readLink(`${dir}/token`), "..data/token");
          const claims = jwtClaims(data.token);
          assert.equal(claims["kubernetes.io/serviceaccount/secret.name"], "reader-token");
          const pod = await cluster.kubectlJson<{ spec: { volumes: { name: string }[] } }>(
            ["-n", "legacy-token", "get", "pod", "legacy-client"],
          );
          assert.deepEqual(pod.spec.volumes.map((v) => v.name), ["legacy-token"]);
          assert.equal(failureCount(status), 0, JSON.stringify(status.lastError));
          assert.equal(record.secret?.syncFrequencySeconds, syncSeconds);
          assert.equal(record.token, undefined);
          seenPids.push(status.pid);

          // Another valid token of `reader` in the Secret: the file follows at the next sync.
          const next = (await cluster.kubectl(["-n", "legacy-token", "create", "token", "reader"]))
            .trim();
          const patched = Date.now();
          await cluster.kubectl([
            "-n",
            "legacy-token",
            "patch",
            "secret",
            "reader-token",
            "--type=merge",
            "-p",
            JSON.stringify({ data: { token: btoa(next) } }),
          ]);
          await eventually(
            "the token file to hold the Secret's new token",
            async () => (await Deno.readTextFile(`${dir}/token`)) === next,
            30_000,
            100,
          );
          const seconds = (Date.now() - patched) / 1000;
          const after = await readJson<PodProcessRecord>(
            files("legacy-token", "legacy-client").recordFile,
          );
          console.error(
            `  legacy-client: new token in the file ${
              seconds.toFixed(1)
            }s after the patch (sync every ${syncSeconds}s + ≤ 50 %); secret record ${
              JSON.stringify(after.secret)
            }`,
          );
          assert.ok(seconds <= syncSeconds * 1.5 + 2, `${seconds}s`);
          assert.equal(after.secret!.writes, record.secret!.writes + 1);
          assert.deepEqual(await readVolume(dir), { ...data, token: next });
          assert.equal(after.pid, record.pid);
        },
      );

      await t.step(
        "a pod mounting a Secret that does not exist waits (ContainerCreating) until it exists",
        async () => {
          await cluster.kubectl(["apply", "-f", "-"], {
            stdin: legacyTokenPod("legacy-token", "late-client", "late-token", 3),
          });
          const f = files("legacy-token", "late-client");
          const waiting = await eventually("the late pod to have failed two mounts", async () => {
            const r = await readJson<PodProcessRecord>(f.recordFile);
            return r.secret && r.secret.syncs >= 2 ? r : undefined;
          }, 30_000);
          console.error(`  late-client: ${waiting.state}: ${waiting.reason}`);
          assert.equal(waiting.state, "waiting");
          assert.equal(
            waiting.reason,
            'MountVolume.SetUp failed for volume "legacy-token" : secret "late-token" not found',
          );
          assert.equal(waiting.pid, undefined);
          await assert.rejects(Deno.stat(f.statusFile), Deno.errors.NotFound);
          await assert.rejects(Deno.stat(f.serviceAccountDir), Deno.errors.NotFound);

          const data = await createTokenSecret(cluster, "legacy-token", "late-token");
          const started = await eventually("the late pod's client to have successes", async () => {
            const s = await readJson<ClientStatus>(f.statusFile);
            return s.successes > 0 ? s : undefined;
          }, 30_000);
          assert.equal(failureCount(started), 0, JSON.stringify(started.lastError));
          assert.deepEqual(await readVolume(f.serviceAccountDir), data);
          seenPids.push(started.pid);
        },
      );

      await t.step("figures", async () => {
        for (const ns of ["workload", "wrong-ca", "legacy-token"]) {
          for (const p of await runningPods(cluster, ns)) {
            const s = await readJson<ClientStatus>(files(ns, p.metadata.name).statusFile);
            console.error(
              `  ${ns}/${p.metadata.name}: ${
                ((Date.parse(s.updatedAt) - Date.parse(s.startedAt)) / 1000).toFixed(0)
              }s, requests ${s.requests}, successes ${s.successes}, failures ${
                JSON.stringify(s.failures)
              }, watch opened ${s.watch.opened}, events ${s.watch.events}`,
            );
          }
        }
      });
    } finally {
      await t.step("cluster down stops every pod process", async () => {
        await cluster.stop();
        for (const pid of seenPids) assert.ok(!processAlive(pid), `pid ${pid} survived`);
        assert.deepEqual(processGroupMembers(pgid), []);
      });
    }
  },
});
