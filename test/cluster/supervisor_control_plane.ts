/**
 * The supervisor's control plane: haproxy as the control-plane endpoint, a static-pod runner
 * per control-plane node (each from its own static-pod manifests), and the kubeadm phases
 * that need a running API (upload-config, bootstrap-token, addon, mark-control-plane).
 * @module
 */
import { join } from "node:path";
import { waitFor, waitForNodes } from "./_wait.ts";
import { renderHaproxyConfig } from "./haproxy.ts";
import { httpProbe } from "./http_probe.ts";
import { initPhase } from "./kubeadm.ts";
import { StaticPodRunner } from "./static_pod_runner.ts";
import { log, type Supervision } from "./supervision.ts";

/** Writes haproxy.cfg into the state directory and starts haproxy: the control-plane endpoint. */
export async function startHaproxy(s: Supervision, haproxyPath: string): Promise<void> {
  const { layout } = s;
  const haproxyCfg = join(s.stateDir, "haproxy.cfg");
  await Deno.writeTextFile(
    haproxyCfg,
    renderHaproxyConfig(
      layout.endpoint,
      layout.controlPlane.map((n) => ({ name: n.name, ip: n.ip, port: layout.apiServerPort })),
    ),
  );
  s.spawn("haproxy", {
    argv: [haproxyPath, "-db", "-f", haproxyCfg],
    logFile: join(s.stateDir, "haproxy.log"),
  });
}

/** Starts the control planes, each from its own static-pod manifests; pid changes are saved. */
export async function startControlPlanes(s: Supervision): Promise<void> {
  for (const node of s.layout.controlPlane) {
    const runner = new StaticPodRunner({ node, binDir: s.binDir, log, onChange: () => s.save() });
    s.runners.push(runner);
    await runner.start();
  }
}

/** Waits (up to 180 s) until the API answers /readyz through haproxy. */
export async function waitForApiThroughHaproxy(s: Supervision): Promise<void> {
  await waitFor(
    "the API to be ready through haproxy",
    () =>
      httpProbe({
        scheme: "HTTPS",
        host: s.layout.endpoint.ip,
        port: s.layout.endpoint.port,
        path: "/readyz",
        timeoutMs: 3000,
      }),
    180_000,
  );
}

/** `kubeadm init phase upload-config all`, `bootstrap-token` and `addon all` on the first node. */
export async function uploadConfigAndAddons(s: Supervision): Promise<void> {
  const first = s.layout.controlPlane[0].root;
  await initPhase(s.binDir, first, ["upload-config", "all"], log);
  await initPhase(s.binDir, first, ["bootstrap-token"], log);
  await initPhase(s.binDir, first, ["addon", "all"], log);
}

/** Waits (up to 60 s) for the control-plane Nodes, then marks them (`mark-control-plane`). */
export async function markControlPlane(s: Supervision): Promise<void> {
  const { layout } = s;
  await waitForNodes(
    (args) => s.kubectl(args),
    layout.controlPlane.map((n) => n.name),
    false,
    60_000,
  );
  await Promise.all(
    layout.controlPlane.map((n) => initPhase(s.binDir, n.root, ["mark-control-plane"], () => {})),
  );
}

/**
 * Waits (up to 120 s) until every control-plane component (static pod) is ready; the error
 * of a timeout names those that are not.
 */
export async function waitForControlPlaneReady(s: Supervision): Promise<void> {
  let waiting: string[] = [];
  try {
    await waitFor("control-plane components ready", () => {
      waiting = s.runners.flatMap((r, i) =>
        r.notReady().map((c) => `${s.layout.controlPlane[i].name}/${c}`)
      );
      return Promise.resolve(waiting.length === 0);
    }, 120_000);
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${waiting.join(", ")}`);
  }
}
