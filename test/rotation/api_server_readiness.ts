/**
 * Each API server's own readiness, polled directly (not through the load balancer): `GET
 * https://<node>:6443/readyz` every 250 ms, trusting admin.conf's CA (read afresh: a rotation
 * rewrites it). An API server that restarts fails /readyz from its SIGTERM (the shutdown delay)
 * until the new process is ready; those spans are its restart windows, which a client through
 * the load balancer may meet while haproxy has not marked it down yet.
 * @module
 */
import { loadKubeconfigCredentials } from "../cluster/kubeconfig_credentials.ts";
import type { RestartWindow } from "./kubelet_restart_windows.ts";

/** A running poller of the API servers' /readyz. */
export interface ApiServerReadiness {
  /** Stops polling; the spans each API server was not ready (`node`: its node name). */
  stop(): Promise<RestartWindow[]>;
}

async function ready(root: string, ip: string): Promise<boolean> {
  let client: Deno.HttpClient | undefined;
  try {
    const credentials = await loadKubeconfigCredentials(root, "/etc/kubernetes/admin.conf");
    client = Deno.createHttpClient({ caCerts: credentials.caPems });
    const response = await fetch(`https://${ip}:6443/readyz`, {
      client,
      signal: AbortSignal.timeout(2000),
    });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  } finally {
    client?.close();
  }
}

/** Polls every API server of `nodes` (control-plane nodes) as admin.conf of `root` trusts. */
export function watchApiServerReadiness(
  root: string,
  nodes: readonly { name: string; ip: string }[],
): ApiServerReadiness {
  const windows: RestartWindow[] = [];
  let running = true;
  const loops = nodes.map(async (node) => {
    let down: number | undefined;
    while (running) {
      const at = Date.now();
      const ok = await ready(root, node.ip);
      if (!ok && down === undefined) down = at;
      if (ok && down !== undefined) {
        windows.push({ node: node.name, from: down, to: Date.now() });
        down = undefined;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    if (down !== undefined) windows.push({ node: node.name, from: down, to: Date.now() });
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return windows.sort((a, b) => a.from - b.from);
    },
  };
}
