/**
 * The detached process that keeps a test cluster running after `cluster up` returns: haproxy,
 * a static-pod runner per control-plane node, kwok and the emulated kubelets. It also runs the
 * kubeadm phases that need a running API (upload-config, bootstrap-token, addon,
 * kubelet-finalize, mark-control-plane), records pids and status in state.json, and on SIGTERM
 * (from `cluster down`) stops everything it started. `up` starts it inside the cluster's
 * network namespace (`ip netns exec`), so everything it starts binds the node addresses there.
 * With an owner pid it tears the whole cluster down (directories, veth pair and network
 * namespace too) once the owner has exited.
 * @module
 */
import { join } from "node:path";
import { EmulatedKubelet } from "./emulated_kubelet.ts";
import { renderHaproxyConfig } from "./haproxy.ts";
import { httpProbe } from "./http_probe.ts";
import { initPhase, kubeadmVersion } from "./kubeadm.ts";
import {
  KWOK_NODE_ANNOTATION,
  KWOK_RBAC_MANIFEST,
  kwokArgs,
  renderKwokKubeconfig,
} from "./kwok.ts";
import { adminKubeconfig, type ClusterLayout, endpointUrl } from "./layout.ts";
import { ManagedProcess, runCommand } from "./managed_process.ts";
import { insideNetns, netnsMembers, netnsPath, removeNetworkFromInside } from "./netns.ts";
import { hasKubeletClientCertificate, issueInitialKubeletCertificate } from "./node_roots.ts";
import {
  type ClusterState,
  processAlive,
  processStartTime,
  readState,
  writeState,
} from "./state.ts";
import { StaticPodRunner } from "./static_pod_runner.ts";

const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 23)} ${line}`);

/** Runs the supervisor for the cluster in `stateDir` until SIGTERM (never returns normally). */
export async function supervise(stateDir: string, haproxyPath: string): Promise<void> {
  const initial = await readState(stateDir);
  if (!initial) throw new Error(`Cannot supervise: no state.json in ${stateDir}`);
  let state: ClusterState = { ...initial, supervisorPid: Deno.pid, status: "starting" };
  const layout: ClusterLayout = state.layout;
  const binDir = state.binDir;
  const runners: StaticPodRunner[] = [];
  const kubelets: EmulatedKubelet[] = [];
  const others = new Map<string, ManagedProcess>();
  let shuttingDown: Promise<void> | undefined;

  let saving = Promise.resolve();
  const save = (patch: Partial<ClusterState> = {}) => {
    state = { ...state, ...patch, pids: collectPids() };
    const snapshot = state;
    saving = saving.then(() => writeState(stateDir, snapshot)).catch((e) =>
      log(`cannot write state: ${e}`)
    );
    return saving;
  };
  const collectPids = () => {
    const pids: Record<string, number> = {};
    for (const [name, p] of others) if (!p.done) pids[name] = p.pid;
    for (const [i, r] of runners.entries()) {
      for (const [c, pid] of Object.entries(r.pids())) {
        pids[`${layout.controlPlane[i].name}/${c}`] = pid;
      }
    }
    return pids;
  };

  const shutdown = (reason: string, removeEverything: boolean) => {
    shuttingDown ??= (async () => {
      log(`shutting down: ${reason}`);
      await save({ status: "stopping" });
      await Promise.all(kubelets.map((k) => k.stop()));
      await others.get("kwok")?.stop(5_000);
      await Promise.all(runners.map((r) => r.stop()));
      await others.get("haproxy")?.stop(5_000);
      if (removeEverything) {
        const network = state.network;
        if (network?.netns && insideNetns(network.netns)) {
          // Anything else still in the namespace is the cluster's (nothing else runs there).
          for (const pid of netnsMembers(netnsPath(network.netns))) {
            if (pid === Deno.pid) continue;
            try {
              Deno.kill(pid, "SIGKILL");
            } catch {
              // already gone
            }
          }
          await removeNetworkFromInside(network).catch((e) =>
            log(`cannot remove network namespace ${network.netns}: ${e}`)
          );
        }
        await Deno.remove(stateDir, { recursive: true }).catch(() => {});
      } else {
        await save({ status: "stopping" });
      }
      log("all processes stopped");
      Deno.exit(0);
    })();
    return shuttingDown;
  };
  Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM", false));
  Deno.addSignalListener("SIGINT", () => shutdown("SIGINT", false));
  if (layout.options.ownerPid) {
    const owner = layout.options.ownerPid;
    const started = processStartTime(owner);
    setInterval(() => {
      // Gone, or its pid now belongs to another process.
      if (!processAlive(owner) || processStartTime(owner) !== started) {
        shutdown(`owner process ${owner} has exited`, true);
      }
    }, 2_000);
  }

  const kubectl = (args: string[], stdin?: string) =>
    runCommand([join(binDir, "kubectl"), `--kubeconfig=${adminKubeconfig(layout)}`, ...args], {
      stdin,
    });
  const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    log(`[up] ${what} …`);
    const result = await fn();
    log(`[up] ${what}: done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    return result;
  };

  try {
    await save({ status: "starting" });

    // haproxy: the control-plane endpoint.
    const haproxyCfg = join(stateDir, "haproxy.cfg");
    await Deno.writeTextFile(
      haproxyCfg,
      renderHaproxyConfig(
        layout.endpoint,
        layout.controlPlane.map((n) => ({ name: n.name, ip: n.ip, port: layout.apiServerPort })),
      ),
    );
    others.set(
      "haproxy",
      ManagedProcess.spawn({
        argv: [haproxyPath, "-db", "-f", haproxyCfg],
        logFile: join(stateDir, "haproxy.log"),
      }),
    );
    watchExit("haproxy", others.get("haproxy")!, () => shuttingDown !== undefined);

    // The control planes, each from its own static-pod manifests.
    for (const node of layout.controlPlane) {
      const runner = new StaticPodRunner({ node, binDir, log, onChange: () => save() });
      runners.push(runner);
      await runner.start();
    }

    await step("waiting for /readyz through haproxy", () =>
      waitFor(
        "the API to be ready through haproxy",
        () =>
          httpProbe({
            scheme: "HTTPS",
            host: layout.endpoint.ip,
            port: layout.endpoint.port,
            path: "/readyz",
            timeoutMs: 3000,
          }),
        180_000,
      ));

    const first = layout.controlPlane[0].root;
    await step("kubeadm init phase upload-config all, bootstrap-token, addon all", async () => {
      await initPhase(binDir, first, ["upload-config", "all"], log);
      await initPhase(binDir, first, ["bootstrap-token"], log);
      await initPhase(binDir, first, ["addon", "all"], log);
    });

    await step("starting kwok", async () => {
      await kubectl(["apply", "-f", "-"], KWOK_RBAC_MANIFEST);
      const token = (await kubectl([
        "create",
        "token",
        "kwok-controller",
        "-n",
        "kube-system",
        "--duration=8760h",
      ]))
        .trim();
      const kubeconfig = join(stateDir, "kwok.kubeconfig");
      await Deno.writeTextFile(kubeconfig, renderKwokKubeconfig(endpointUrl(layout), token), {
        mode: 0o600,
      });
      const kwok = ManagedProcess.spawn({
        argv: kwokArgs({ binDir, kubeconfig, serverAddress: layout.kwokAddress }),
        logFile: join(stateDir, "kwok.log"),
      });
      others.set("kwok", kwok);
      watchExit("kwok", kwok, () => shuttingDown !== undefined);
    });

    await step("starting the emulated kubelets", async () => {
      const nodes = [
        ...layout.controlPlane.map((n) => ({ ...n, controlPlane: true })),
        ...layout.workers.map((n) => ({ ...n, ip: undefined, controlPlane: false })),
      ];
      const kubeletVersion = await kubeadmVersion(binDir);
      for (const node of nodes) {
        if (!await hasKubeletClientCertificate(node.root)) {
          await issueInitialKubeletCertificate(layout, node.name, node.root);
          if (node.controlPlane) {
            // kubelet.conf → /var/lib/kubelet/pki/kubelet-client-current.pem, as at the end of kubeadm init
            await initPhase(
              binDir,
              node.root,
              ["kubelet-finalize", "enable-client-cert-rotation"],
              () => {},
            );
          }
        }
        const kubelet = new EmulatedKubelet({
          nodeName: node.name,
          root: node.root,
          heartbeatSeconds: layout.options.heartbeatSeconds,
          kubeletVersion,
          labels: {
            "kubernetes.io/hostname": node.name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
          },
          annotations: { ...KWOK_NODE_ANNOTATION, "node.alpha.kubernetes.io/ttl": "0" },
          addresses: node.ip
            ? [{ type: "InternalIP", address: node.ip }, { type: "Hostname", address: node.name }]
            : undefined,
          log,
        });
        kubelets.push(kubelet);
        await kubelet.start();
      }
    });

    await step("kubeadm init phase mark-control-plane", async () => {
      await waitForNodes(kubectl, layout.controlPlane.map((n) => n.name), false, 60_000);
      await Promise.all(
        layout.controlPlane.map((n) => initPhase(binDir, n.root, ["mark-control-plane"], () => {})),
      );
    });

    await step("waiting for all nodes to be Ready", () =>
      waitForNodes(
        kubectl,
        [...layout.controlPlane, ...layout.workers].map((n) => n.name),
        true,
        120_000,
      ));

    await step("waiting for every control-plane component to be ready", async () => {
      let waiting: string[] = [];
      try {
        await waitFor("control-plane components ready", () => {
          waiting = runners.flatMap((r, i) =>
            r.notReady().map((c) => `${layout.controlPlane[i].name}/${c}`)
          );
          return Promise.resolve(waiting.length === 0);
        }, 120_000);
      } catch (error) {
        throw new Error(`${(error as Error).message}: ${waiting.join(", ")}`);
      }
    });

    await save({ status: "ready", readyAt: new Date().toISOString() });
    log("[up] cluster ready");
  } catch (error) {
    log(`[up] FAILED: ${(error as Error).stack ?? error}`);
    await save({ status: "failed", error: (error as Error).message });
    // Keep running so that `down` (or the owner's exit) can stop what was started.
  }
}

function watchExit(name: string, proc: ManagedProcess, expected: () => boolean) {
  proc.exited.then((status) => {
    if (!expected()) log(`${name} (pid ${proc.pid}) exited unexpectedly with code ${status.code}`);
  });
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`Timed out after ${timeoutMs / 1000}s waiting for ${what}`);
}

async function waitForNodes(
  kubectl: (args: string[]) => Promise<string>,
  names: string[],
  ready: boolean,
  timeoutMs: number,
): Promise<void> {
  let missing: string[] = names;
  try {
    await waitFor(`nodes ${ready ? "Ready" : "registered"}`, async () => {
      const list = JSON.parse(
        await kubectl(["get", "nodes", "-o", "json"]).catch(() => '{"items":[]}'),
      ) as {
        items: {
          metadata: { name: string };
          status?: { conditions?: { type: string; status: string }[] };
        }[];
      };
      const ok = new Set(
        list.items.filter((n) =>
          !ready || n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")
        )
          .map((n) => n.metadata.name),
      );
      missing = names.filter((n) => !ok.has(n));
      return missing.length === 0;
    }, timeoutMs);
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${missing.join(", ")}`);
  }
}
