/**
 * The aggregated API on a real control plane (1 API server, 1 kwok worker): sample-apiserver
 * runs as a pod's process behind the APIService v1alpha1.wardle.example.com, authenticates
 * kube-apiserver's front proxy through extension-apiserver-authentication with its in-cluster
 * config, and serves flunders stored in the cluster's etcd; a probe lists flunders through the
 * load balancer without a failure. Negative control: kube-apiserver presenting a front-proxy
 * client certificate from an unrelated CA makes every aggregated request fail, and the
 * aggregated server's log names the failed authentication; the real certificate back, it
 * recovers.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { stringify } from "yaml";
import {
  AGGREGATED_API,
  type AggregatedApi,
  deployAggregatedApi,
  issueCertificate,
  restartControlPlaneComponent,
} from "./aggregated_api.ts";
import {
  adminCredentials,
  type AggregatedProbeCounts,
  failureCount,
  flundersPath,
  startAggregatedProbe,
} from "./aggregated_probe.ts";
import { eventually, startCluster } from "./harness.ts";
import { runCommand } from "./managed_process.ts";
import { netnsMembers, netnsPath } from "./netns.ts";
import { processAlive, processGroupMembers } from "./state.ts";

const describe = (c: AggregatedProbeCounts) =>
  `requests ${c.requests}, ok ${c.ok}, failures ${JSON.stringify(c.failures)}, lastError ${
    JSON.stringify(c.lastError)
  }`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name: "aggregated API: sample-apiserver behind an APIService, authenticating the front proxy",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const cluster = await startCluster({ apiServers: 1, nodes: 1 });
    const credentials = adminCredentials(cluster.nodeRoots[0]);
    const pki = join(cluster.nodeRoots[0], "etc/kubernetes/pki");
    const seenPids: number[] = [];
    /** kubectl's standard output alone, as the admin. */
    const kubectlStdout = async (args: string[]) => {
      const output = await new Deno.Command(join(cluster.binDir, "kubectl"), {
        args: [`--kubeconfig=${cluster.kubeconfig}`, ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.ok(output.success, `kubectl ${args.join(" ")}: ${stderr}`);
      return new TextDecoder().decode(output.stdout);
    };
    let deployed: AggregatedApi | undefined;
    const api = () => {
      if (!deployed) throw new Error("the aggregated API was not deployed");
      return deployed;
    };
    try {
      await t.step("deploy: the APIService becomes Available", async () => {
        const started = Date.now();
        deployed = await deployAggregatedApi(cluster);
        const pod = await api().pod();
        const pid = pod.record.pid!;
        console.error(
          `  Available after ${
            ((Date.now() - started) / 1000).toFixed(1)
          }s; pod ${pod.name}, pid ${pid}, ${api().address}:${api().port}`,
        );
        assert.equal(pod.record.state, "running");
        assert.equal(pod.record.program, "sample-apiserver");
        assert.equal(pod.record.serviceAccount, AGGREGATED_API.name);
        seenPids.push(pid);
        // A real process of the supervisor's, in the cluster's network namespace, serving on
        // the address the EndpointSlice names.
        assert.ok(processGroupMembers(cluster.state.supervisorPid!).includes(pid));
        assert.ok(netnsMembers(netnsPath(cluster.state.network!.netns)).includes(pid));
        const cmdline = (await Deno.readTextFile(`/proc/${pid}/cmdline`)).split("\0");
        assert.equal(cmdline[0], `${cluster.binDir}/sample-apiserver`);
        assert.ok(cmdline.includes(`--bind-address=${api().address}`));
        // Its in-cluster config: the pod's bound token and ca.crt, server the load balancer.
        const kubeconfig = await Deno.readTextFile(join(pod.files.dir, "incluster.kubeconfig"));
        assert.ok(kubeconfig.includes(`server: ${cluster.endpoint}`), kubeconfig);
        assert.ok(kubeconfig.includes(`${pod.files.serviceAccountDir}/ca.crt`), kubeconfig);
        assert.ok(kubeconfig.includes(`tokenFile: ${pod.files.serviceAccountDir}/token`));
        const log = await Deno.readTextFile(pod.files.logFile);
        assert.doesNotMatch(log, /forbidden/i, "sample-apiserver was refused something");
        const endpoints = await cluster.kubectlJson<{ items: unknown[] }>([
          "-n",
          AGGREGATED_API.namespace,
          "get",
          "endpointslices",
          "-l",
          `kubernetes.io/service-name=${AGGREGATED_API.name}`,
        ]);
        assert.equal(endpoints.items.length, 1);
      });

      await t.step("a Flunder created through the aggregated API reads back", async () => {
        api();
        const flunder = {
          apiVersion: `${AGGREGATED_API.group}/${AGGREGATED_API.version}`,
          kind: "Flunder",
          metadata: { name: "first", namespace: "default", labels: { made: "by-test" } },
          spec: {},
        };
        await cluster.kubectl(["create", "-f", "-"], { stdin: stringify(flunder) });
        // (kubectl's stderr has sample-apiserver's warning that v1alpha1 is deprecated.)
        const got = JSON.parse(
          await kubectlStdout([
            "-n",
            "default",
            "get",
            "flunders.wardle.example.com",
            "first",
            "-o",
            "json",
          ]),
        ) as {
          kind: string;
          metadata: { name: string; uid: string; labels: Record<string, string> };
        };
        assert.equal(got.kind, "Flunder");
        assert.equal(got.metadata.name, "first");
        assert.equal(got.metadata.labels.made, "by-test");
        assert.ok(got.metadata.uid);
        const raw = JSON.parse(await kubectlStdout(["get", "--raw", flundersPath()])) as {
          kind: string;
          items: { metadata: { uid: string } }[];
        };
        assert.equal(raw.kind, "FlunderList");
        assert.deepEqual(raw.items.map((i) => i.metadata.uid), [got.metadata.uid]);
      });

      await t.step("the probe lists flunders every second for 10 s without a failure", async () => {
        api();
        const probe = startAggregatedProbe({ credentials });
        await sleep(10_500);
        const counts = await probe.stop();
        console.error(`  probe: ${describe(counts)}`);
        assert.equal(failureCount(counts), 0, describe(counts));
        assert.ok(counts.ok >= 9, describe(counts));
        assert.equal(counts.lastItems, 1);
      });

      await t.step(
        "negative control: a front-proxy client certificate from an unrelated CA is refused",
        async () => {
          api();
          const original = {
            crt: await Deno.readTextFile(join(pki, "front-proxy-client.crt")),
            key: await Deno.readTextFile(join(pki, "front-proxy-client.key")),
          };
          const dir = await Deno.makeTempDir({ prefix: "ca-rotator-unrelated-" });
          try {
            const unrelatedCa = await issueCertificate(dir, "unrelated-ca", {
              commonName: "unrelated-front-proxy-ca",
            });
            // The same name as kubeadm's (requestheader-allowed-names), from the wrong CA.
            const wrong = await issueCertificate(dir, "front-proxy-client", {
              commonName: "front-proxy-client",
              ca: unrelatedCa,
              usage: "client",
            });
            const pod = await api().pod();
            const logBefore = (await Deno.readTextFile(pod.files.logFile)).length;
            await Deno.writeTextFile(join(pki, "front-proxy-client.crt"), wrong.certPem);
            await Deno.writeTextFile(join(pki, "front-proxy-client.key"), wrong.keyPem);
            await restartControlPlaneComponent(cluster, 0, "kube-apiserver");

            const probe = startAggregatedProbe({ credentials });
            await sleep(10_500);
            const counts = await probe.stop();
            console.error(`  probe (wrong front-proxy certificate): ${describe(counts)}`);
            assert.equal(counts.ok, 0, describe(counts));
            assert.equal(failureCount(counts), counts.requests);
            assert.ok(counts.requests >= 9, describe(counts));
            // The aggregated server refuses the front proxy (401); once the aggregator's
            // discovery check has failed too, the APIService is unavailable (503).
            assert.equal(
              counts.failures.unauthorized + counts.failures.unavailable,
              counts.requests,
              describe(counts),
            );
            const condition = await eventually(
              "the APIService to be unavailable",
              async () => {
                const c = await api().available();
                return c.status === "False" ? c : undefined;
              },
              30_000,
            );
            console.error(`  APIService Available: ${JSON.stringify(condition)}`);
            assert.equal(condition.reason, "FailedDiscoveryCheck");
            assert.match(condition.message ?? "", /401/);

            // The aggregated server's own log names the failed authentication.
            const log = (await Deno.readTextFile(pod.files.logFile)).slice(logBefore);
            const line = log.split("\n").find((l) => /Unable to authenticate the request/.test(l));
            console.error(`  ${AGGREGATED_API.name} log: ${line}`);
            assert.ok(line, `no failed authentication in the log:\n${log.slice(-3000)}`);
            assert.match(line, /x509: certificate signed by unknown authority/);
            // … of the certificate the unrelated CA issued (its authority key id).
            const skid = (await runCommand([
              "openssl",
              "x509",
              "-in",
              unrelatedCa.certFile,
              "-noout",
              "-ext",
              "subjectKeyIdentifier",
            ])).trim().split("\n").pop()!.trim();
            assert.ok(line.includes(`AKID=${skid}`), `AKID=${skid} not in: ${line}`);
            // The same process all along: only the front proxy's certificate changed.
            assert.equal((await api().pod()).record.pid, pod.record.pid);
          } finally {
            await Deno.writeTextFile(join(pki, "front-proxy-client.crt"), original.crt);
            await Deno.writeTextFile(join(pki, "front-proxy-client.key"), original.key);
            await Deno.remove(dir, { recursive: true });
          }
        },
      );

      await t.step("the kubeadm certificate back, the aggregated API recovers", async () => {
        api();
        await restartControlPlaneComponent(cluster, 0, "kube-apiserver");
        await eventually(
          "the APIService to be Available again",
          async () => {
            return (await api().available()).status === "True";
          },
          90_000,
          1000,
        );
        const probe = startAggregatedProbe({ credentials });
        await sleep(10_500);
        const counts = await probe.stop();
        console.error(`  probe (restored): ${describe(counts)}`);
        assert.equal(failureCount(counts), 0, describe(counts));
        assert.ok(counts.ok >= 9, describe(counts));
        assert.equal(counts.lastItems, 1);
        // All along, the server was refused nothing it asked the API for.
        const log = await Deno.readTextFile((await api().pod()).files.logFile);
        assert.doesNotMatch(log, /forbidden/i);
      });
    } finally {
      await t.step("cluster down stops the aggregated API server", async () => {
        await cluster.stop();
        for (const pid of seenPids) assert.ok(!processAlive(pid), `pid ${pid} survived`);
      });
    }
  },
});
