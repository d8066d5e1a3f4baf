/**
 * The real control plane, end to end: three API servers behind haproxy, kubeadm-made node
 * roots, kwok workers, kubelets (kubelet-client) rotating through the CSR API; one cluster for
 * all steps, torn down at the end (and checked to leave nothing behind).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { loadKubeconfigCredentials } from "./kubeconfig_credentials.ts";
import { fingerprint, issueClientCertificate, nodeSubject, pemBlocks } from "./kubelet_pki.ts";
import { runCommand } from "./managed_process.ts";
import { netnsMembers, netnsPath, networkLeftovers, overlappingRoutes } from "./netns.ts";
import { eventually, startCluster, type TestCluster } from "./harness.ts";
import { processGroupMembers } from "./state.ts";

const read = (path: string) => Deno.readTextFile(path);

interface NodeList {
  items: {
    metadata: { name: string; labels?: Record<string, string> };
    spec?: { taints?: { key: string }[] };
    status?: { conditions?: { type: string; status: string }[] };
  }[];
}
const isReady = (n: NodeList["items"][number]) =>
  n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** GETs `path` from `server` with the admin client certificate; resolves the HTTP status (0 = no answer). */
function adminGetter(
  cluster: TestCluster,
): Promise<(server: string, path: string) => Promise<number>> {
  return loadKubeconfigCredentials(cluster.nodeRoots[0], "/etc/kubernetes/admin.conf").then(
    (creds) => {
      return async (server: string, path: string) => {
        const client = Deno.createHttpClient({
          caCerts: creds.caPems,
          cert: creds.certPem,
          key: creds.keyPem,
        });
        try {
          const r = await fetch(new URL(path, server), {
            client,
            signal: AbortSignal.timeout(5000),
          });
          await r.body?.cancel();
          return r.status;
        } catch {
          return 0;
        } finally {
          client.close();
        }
      };
    },
  );
}

Deno.test({
  name:
    "cluster: kubeadm control plane, 3 API servers behind haproxy, kwok nodes, emulated kubelets",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const cluster = await startCluster({ apiServers: 3, nodes: 3 });
    const pgid = cluster.state.supervisorPid!;
    const subnet = cluster.layout.options.subnet;
    const network = cluster.state.network!;
    console.error(`cluster up in ${(cluster.upMs / 1000).toFixed(1)}s (subnet ${subnet})`);
    try {
      await t.step(
        "the nodes live in the cluster's network namespace, behind its veth",
        async () => {
          assert.equal(network.subnet, subnet);
          const inside = await runCommand(["ip", "-n", network.netns, "-4", "-o", "addr", "show"]);
          for (const ip of [...cluster.nodes.map((n) => n.ip), `${subnet}.100`, `${subnet}.200`]) {
            assert.match(
              inside,
              new RegExp(`${network.nsInterface}\\s+inet ${ip.replaceAll(".", "\\.")}/24`),
            );
          }
          // The root namespace routes the subnet only through the veth and holds no node address.
          const routes = (await overlappingRoutes(subnet)).map((r) => r.trim());
          assert.ok(routes.length > 0);
          for (const r of routes) {
            assert.match(r, new RegExp(`\\bdev ${network.hostInterface}\\b`), r);
          }
          const rootAddrs = (await runCommand(["ip", "-4", "-o", "addr", "show"])).split("\n")
            .filter((l) => l.includes(`inet ${subnet}.`));
          assert.equal(rootAddrs.length, 1, rootAddrs.join("\n"));
          assert.match(
            rootAddrs[0],
            new RegExp(`${network.hostInterface}\\s+inet ${subnet}\\.254/24`),
          );
          // Nothing in the root namespace listens on the subnet; the supervisor and all it
          // started are inside the namespace.
          const listening = await runCommand(["ss", "-Htuln"]);
          assert.ok(!listening.includes(`${subnet}.`), listening);
          const members = netnsMembers(netnsPath(network.netns));
          assert.ok(members.includes(pgid), `supervisor ${pgid} not in ${network.netns}`);
          const group = processGroupMembers(pgid);
          assert.ok(group.length > 1);
          for (const pid of group) {
            assert.ok(members.includes(pid), `pid ${pid} not in ${network.netns}`);
          }
        },
      );

      await t.step("/readyz is ok through haproxy and on every API server", async () => {
        const admin = parse(await read(cluster.kubeconfig));
        assert.equal(admin.clusters[0].cluster.server, cluster.endpoint);
        assert.equal((await cluster.kubectl(["get", "--raw", "/readyz"])).trim(), "ok");
        const get = await adminGetter(cluster);
        for (const node of cluster.nodes) {
          assert.equal(await get(`https://${node.ip}:6443`, "/readyz"), 200);
        }
        const version = await cluster.kubectlJson<{ serverVersion: { gitVersion: string } }>([
          "version",
        ]);
        assert.match(version.serverVersion.gitVersion, /^v1\.\d+\.\d+$/);
      });

      await t.step(
        "node roots hold kubeadm's files, shared CAs, per-node leaf certificates",
        async () => {
          const files = [
            "etc/kubernetes/pki/ca.crt",
            "etc/kubernetes/pki/ca.key",
            "etc/kubernetes/pki/apiserver.crt",
            "etc/kubernetes/pki/apiserver-kubelet-client.crt",
            "etc/kubernetes/pki/front-proxy-ca.crt",
            "etc/kubernetes/pki/front-proxy-client.crt",
            "etc/kubernetes/pki/sa.key",
            "etc/kubernetes/pki/etcd/ca.crt",
            "etc/kubernetes/manifests/kube-apiserver.yaml",
            "etc/kubernetes/manifests/kube-controller-manager.yaml",
            "etc/kubernetes/manifests/kube-scheduler.yaml",
            "etc/kubernetes/manifests/etcd.yaml",
            "etc/kubernetes/admin.conf",
            "etc/kubernetes/controller-manager.conf",
            "etc/kubernetes/scheduler.conf",
            "etc/kubernetes/kubelet.conf",
            "var/lib/kubelet/config.yaml",
            "var/lib/kubelet/pki/kubelet-client-current.pem",
          ];
          for (const root of cluster.nodeRoots) {
            for (const f of files) {
              await Deno.stat(join(root, f));
            }
          }
          const [r1, r2, r3] = cluster.nodeRoots;
          for (const shared of ["ca.crt", "front-proxy-ca.crt", "sa.pub", "etcd/ca.crt"]) {
            const a = await read(join(r1, "etc/kubernetes/pki", shared));
            assert.equal(await read(join(r2, "etc/kubernetes/pki", shared)), a, shared);
            assert.equal(await read(join(r3, "etc/kubernetes/pki", shared)), a, shared);
          }
          assert.notEqual(
            await read(join(r1, "etc/kubernetes/pki/apiserver.crt")),
            await read(join(r2, "etc/kubernetes/pki/apiserver.crt")),
          );
          const apiserver = await read(join(r2, "etc/kubernetes/manifests/kube-apiserver.yaml"));
          for (
            const flag of [
              "--client-ca-file=/etc/kubernetes/pki/ca.crt",
              "--requestheader-client-ca-file=",
            ]
          ) {
            assert.ok(apiserver.includes(flag), flag);
          }
          const kcm = await read(join(r1, "etc/kubernetes/manifests/kube-controller-manager.yaml"));
          for (
            const flag of [
              "--root-ca-file=/etc/kubernetes/pki/ca.crt",
              "--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt",
              "--cluster-signing-key-file=/etc/kubernetes/pki/ca.key",
            ]
          ) {
            assert.ok(kcm.includes(flag), flag);
          }
          const kubeletConf = parse(await read(join(r1, "etc/kubernetes/kubelet.conf")));
          assert.equal(
            kubeletConf.users[0].user["client-certificate"],
            "/var/lib/kubelet/pki/kubelet-client-current.pem",
          );
          // Processes see the files of their own node root.
          const status = await cluster.componentStatus(1, "kube-apiserver");
          assert.ok(status.command.includes(`--client-ca-file=${r2}/etc/kubernetes/pki/ca.crt`));
          const cmdline = (await read(`/proc/${status.pid}/cmdline`)).split("\0");
          assert.ok(cmdline.includes(`--client-ca-file=${r2}/etc/kubernetes/pki/ca.crt`));
          for (const w of cluster.workerRoots) {
            await Deno.stat(join(w, "etc/kubernetes/kubelet.conf"));
            await Deno.stat(join(w, "var/lib/kubelet/config.yaml"));
            await Deno.stat(join(w, "etc/kubernetes/pki/ca.crt"));
          }
        },
      );

      await t.step("kubectl get nodes lists the control-plane and kwok nodes Ready", async () => {
        const nodes = await cluster.kubectlJson<NodeList>(["get", "nodes"]);
        const names = nodes.items.map((n) => n.metadata.name).sort();
        assert.deepEqual(names, [...cluster.nodes, ...cluster.workers].map((n) => n.name).sort());
        for (const n of nodes.items) assert.ok(isReady(n), `${n.metadata.name} is not Ready`);
        for (const cp of cluster.nodes) {
          const n = nodes.items.find((i) => i.metadata.name === cp.name)!;
          assert.ok("node-role.kubernetes.io/control-plane" in (n.metadata.labels ?? {}));
          assert.ok(n.spec?.taints?.some((x) => x.key === "node-role.kubernetes.io/control-plane"));
        }
      });

      await t.step(
        "a Deployment of 3 replicas becomes available and rolls; DaemonSets roll",
        async () => {
          await cluster.kubectl(["create", "namespace", "demo"]);
          await cluster.kubectl([
            "-n",
            "demo",
            "create",
            "deployment",
            "web",
            "--image=registry.k8s.io/pause:3.10",
            "--replicas=3",
          ]);
          await cluster.kubectl([
            "-n",
            "demo",
            "rollout",
            "status",
            "deployment/web",
            "--timeout=120s",
          ]);
          const deploy = await cluster.kubectlJson<{ status: { availableReplicas: number } }>([
            "-n",
            "demo",
            "get",
            "deployment",
            "web",
          ]);
          assert.equal(deploy.status.availableReplicas, 3);
          const pods = await cluster.kubectlJson<{ items: { spec: { nodeName: string } }[] }>([
            "-n",
            "demo",
            "get",
            "pods",
          ]);
          const workers = new Set(cluster.workers.map((w) => w.name));
          for (const p of pods.items) {
            assert.ok(workers.has(p.spec.nodeName), `pod on ${p.spec.nodeName}`);
          }
          await cluster.kubectl(["-n", "demo", "rollout", "restart", "deployment/web"]);
          await cluster.kubectl([
            "-n",
            "demo",
            "rollout",
            "status",
            "deployment/web",
            "--timeout=120s",
          ]);
          await cluster.kubectl([
            "-n",
            "kube-system",
            "rollout",
            "restart",
            "daemonset/kube-proxy",
          ]);
          await cluster.kubectl([
            "-n",
            "kube-system",
            "rollout",
            "status",
            "daemonset/kube-proxy",
            "--timeout=120s",
          ]);
          await cluster.kubectl([
            "-n",
            "kube-system",
            "rollout",
            "status",
            "deployment/coredns",
            "--timeout=120s",
          ]);
        },
      );

      await t.step("kube-root-ca.crt appears in a new namespace with the cluster CA", async () => {
        await cluster.kubectl(["create", "namespace", "fresh"]);
        const cm = await eventually(
          "kube-root-ca.crt in namespace fresh",
          () =>
            cluster.kubectlJson<{ data: Record<string, string> }>([
              "-n",
              "fresh",
              "get",
              "configmap",
              "kube-root-ca.crt",
            ]),
          30_000,
        );
        assert.equal(
          cm.data["ca.crt"],
          await read(join(cluster.nodeRoots[0], "etc/kubernetes/pki/ca.crt")),
        );
        const info = await cluster.kubectlJson<{ data: { kubeconfig: string } }>([
          "-n",
          "kube-public",
          "get",
          "configmap",
          "cluster-info",
        ]);
        assert.match(info.data.kubeconfig, /certificate-authority-data/);
      });

      await t.step(
        "a kubelet's CSR is approved and issued by the controller-manager",
        async () => {
          const node = cluster.workers[0].name;
          const root = cluster.rootOf(node);
          const before = await cluster.kubeletStatus(node);
          const linkBefore = await Deno.readLink(
            join(root, "var/lib/kubelet/pki/kubelet-client-current.pem"),
          );
          assert.equal(before.running, true);
          assert.equal(before.rotateCertificates, true);
          assert.equal(before.clientCAFile, "/etc/kubernetes/pki/ca.crt");
          assert.equal(before.failuresByKind.unauthorized, 0);
          await Deno.writeTextFile(join(root, "var/run/kubelet/rotate"), "");
          const after = await eventually(
            "a rotation of worker-1's client certificate",
            async () => {
              const s = await cluster.kubeletStatus(node);
              return s.rotations > before.rotations && s.lastCsr ? s : undefined;
            },
            60_000,
          );
          const csr = await cluster.kubectlJson<{
            spec: { signerName: string; username: string };
            status: { conditions: { type: string; reason: string }[]; certificate: string };
          }>(["get", "csr", after.lastCsr!]);
          assert.equal(csr.spec.signerName, "kubernetes.io/kube-apiserver-client-kubelet");
          assert.equal(csr.spec.username, `system:node:${node}`);
          assert.ok(
            csr.status.conditions.some((c) => c.type === "Approved" && c.reason === "AutoApproved"),
          );
          assert.ok(csr.status.certificate);
          const caPem = await read(join(cluster.nodeRoots[0], "etc/kubernetes/pki/ca.crt"));
          assert.equal(after.issuerFingerprint, await fingerprint(caPem));
          assert.deepEqual(after.clientCAFingerprints, [await fingerprint(caPem)]);
          assert.equal(after.cert?.subject, `O=system:nodes, CN=system:node:${node}`);
          const link = await Deno.readLink(
            join(root, "var/lib/kubelet/pki/kubelet-client-current.pem"),
          );
          assert.notEqual(link, linkBefore);
          // client-go's file store links to the absolute path of the new file in the same directory.
          assert.equal(
            link,
            join(root, "var/lib/kubelet/pki", link.slice(link.lastIndexOf("/") + 1)),
          );
          assert.match(link, /\/kubelet-client-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.pem$/);
          const current = await read(join(root, "var/lib/kubelet/pki/kubelet-client-current.pem"));
          const issued = new TextDecoder().decode(
            Uint8Array.from(atob(csr.status.certificate), (c) => c.charCodeAt(0)),
          );
          assert.equal(
            pemBlocks(current, "CERTIFICATE")[0].trim(),
            pemBlocks(issued, "CERTIFICATE")[0].trim(),
          );
          // It keeps authenticating with the new certificate.
          const requests = after.requests;
          const later = await eventually("more successful kubelet requests", async () => {
            const s = await cluster.kubeletStatus(node);
            return s.requests > requests + 2 ? s : undefined;
          }, 30_000);
          assert.equal(later.failuresByKind.unauthorized, 0);
        },
      );

      await t.step(
        "a flag change in one node's kube-apiserver manifest restarts only that API server",
        async () => {
          const [n1, n2, n3] = cluster.nodes;
          const manifest = join(n2.root, "etc/kubernetes/manifests/kube-apiserver.yaml");
          const before = await cluster.componentStatus(n2.name, "kube-apiserver");
          const others = await Promise.all(
            [n1, n3].map((n) => cluster.componentStatus(n.name, "kube-apiserver")),
          );
          const get = await adminGetter(cluster);
          let polling = true;
          const results = {
            haproxy: [] as number[],
            [n1.name]: [] as number[],
            [n3.name]: [] as number[],
          };
          const poller = (async () => {
            while (polling) {
              const [a, b, c] = await Promise.all([
                get(cluster.endpoint, "/api/v1/namespaces/default"),
                get(`https://${n1.ip}:6443`, "/readyz"),
                get(`https://${n3.ip}:6443`, "/readyz"),
              ]);
              results.haproxy.push(a);
              results[n1.name].push(b);
              results[n3.name].push(c);
              await new Promise((r) => setTimeout(r, 100));
            }
          })();
          try {
            const text = await read(manifest);
            assert.ok(!text.includes("--profiling=false"));
            await Deno.writeTextFile(
              manifest,
              text.replace(
                "    - --secure-port=6443\n",
                "    - --secure-port=6443\n    - --profiling=false\n",
              ),
            );
            const after = await eventually(
              "kube-apiserver on node 2 restarted and ready",
              async () => {
                const s = await cluster.componentStatus(n2.name, "kube-apiserver");
                return s.pid !== before.pid && s.ready && s.state === "running" ? s : undefined;
              },
              90_000,
            );
            assert.equal(after.restarts, before.restarts + 1);
            assert.equal(after.lastRestartReason, "manifest-changed");
            assert.ok(after.command.includes("--profiling=false"));
            assert.ok(
              (await read(`/proc/${after.pid}/cmdline`)).split("\0").includes("--profiling=false"),
            );
            await new Promise((r) => setTimeout(r, 1000));
          } finally {
            polling = false;
            await poller;
          }
          for (const [i, n] of [n1, n3].entries()) {
            const s = await cluster.componentStatus(n.name, "kube-apiserver");
            assert.equal(s.pid, others[i].pid, `${n.name}'s API server was restarted`);
            assert.ok(results[n.name].length > 10);
            assert.deepEqual(
              results[n.name].filter((c) => c !== 200),
              [],
              `${n.name} stopped serving`,
            );
          }
          assert.deepEqual(
            results.haproxy.filter((c) => c !== 200),
            [],
            "requests through haproxy failed",
          );
          assert.equal((await cluster.kubectl(["get", "--raw", "/readyz"])).trim(), "ok");
        },
      );

      await t.step(
        "a kubelet whose client certificate is not trusted fails with 401 and its node goes NotReady",
        async () => {
          const node = cluster.workers[cluster.workers.length - 1].name;
          const root = cluster.rootOf(node);
          const pki = join(root, "var/lib/kubelet/pki");
          const good = await Deno.readLink(join(pki, "kubelet-client-current.pem"));
          // A certificate from a CA the API servers do not know.
          const dir = await Deno.makeTempDir();
          try {
            const cmd = await new Deno.Command("openssl", {
              args: [
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "k",
                "-out",
                "c",
                "-days",
                "1",
                "-subj",
                "/CN=rogue-ca",
              ],
              cwd: dir,
              stderr: "null",
            }).output();
            assert.ok(cmd.success);
            const rogue = await issueClientCertificate({
              caCertPem: await read(join(dir, "c")),
              caKeyPem: await read(join(dir, "k")),
              subject: nodeSubject(node),
              notBefore: new Date(Date.now() - 60_000),
              notAfter: new Date(Date.now() + 3_600_000),
            });
            await Deno.writeTextFile(join(pki, "rogue.pem"), rogue.certPem + rogue.keyPem);
          } finally {
            await Deno.remove(dir, { recursive: true });
          }
          await Deno.remove(join(pki, "kubelet-client-current.pem"));
          await Deno.symlink("rogue.pem", join(pki, "kubelet-client-current.pem"));
          await Deno.writeTextFile(join(root, "var/run/kubelet/restart"), String(Date.now()));
          await eventually(
            `${node} counting 401s`,
            async () => (await cluster.kubeletStatus(node)).failuresByKind.unauthorized > 0,
            30_000,
          );
          await eventually(
            `${node} NotReady`,
            async () => {
              const n = await cluster.kubectlJson<NodeList["items"][number]>(["get", "node", node]);
              return !isReady(n);
            },
            90_000,
            1000,
          );
          // Put the good certificate back and restart: the node recovers.
          await Deno.remove(join(pki, "kubelet-client-current.pem"));
          await Deno.symlink(good, join(pki, "kubelet-client-current.pem"));
          await Deno.writeTextFile(join(root, "var/run/kubelet/restart"), String(Date.now()));
          await eventually(
            `${node} Ready again`,
            async () => {
              const n = await cluster.kubectlJson<NodeList["items"][number]>(["get", "node", node]);
              return isReady(n);
            },
            60_000,
            1000,
          );
          const s = await cluster.kubeletStatus(node);
          assert.equal(s.restarts, 2);
          assert.equal(s.consecutiveFailures, 0);
        },
      );
    } finally {
      await t.step(
        "cluster down leaves no process, directory, namespace or veth behind",
        async () => {
          await cluster.stop();
          assert.deepEqual(processGroupMembers(pgid), []);
          for (const n of [...cluster.nodes, ...cluster.workers]) {
            await assert.rejects(Deno.stat(n.root), Deno.errors.NotFound);
          }
          await assert.rejects(Deno.stat(cluster.layout.options.stateDir), Deno.errors.NotFound);
          assert.deepEqual(await networkLeftovers(subnet), []);
        },
      );
    }
  },
});
