/**
 * The node addresses of the test cluster: a /24 routed to the loopback device
 * (`ip route add local <subnet>.0/24 dev lo`), so that every address in it is local, as the
 * whole of 127.0.0.0/8 is. kubeadm refuses loopback (127.x) advertise addresses — it swaps
 * them for a global address of the `lo` interface — so the nodes cannot use 127.x.
 * @module
 */
import { runCommand } from "./managed_process.ts";

function cidr(subnet: string): string {
  return `${subnet}.0/24`;
}

/** Whether the subnet is already routed to the loopback device. */
export async function hasLoopbackRoute(subnet: string): Promise<boolean> {
  const out = await runCommand(["ip", "-4", "route", "show", "table", "local", cidr(subnet)]);
  return /\bdev lo\b/.test(out);
}

/** Routes the subnet to the loopback device; returns whether it added the route. */
export async function ensureLoopbackRoute(subnet: string): Promise<boolean> {
  if (await hasLoopbackRoute(subnet)) return false;
  await runCommand(["ip", "route", "add", "local", cidr(subnet), "dev", "lo"]);
  return true;
}

/** Removes the route added by {@linkcode ensureLoopbackRoute}. */
export async function removeLoopbackRoute(subnet: string): Promise<void> {
  if (await hasLoopbackRoute(subnet)) {
    await runCommand(["ip", "route", "del", "local", cidr(subnet), "dev", "lo"]);
  }
}

/**
 * Claims a free subnet 198.18.<n> (10 ≤ n < 250) by adding its loopback route; adding fails
 * when the route exists, so concurrent claimers never share one. Returns `198.18.<n>`.
 */
export async function claimSubnet(): Promise<string> {
  const start = 10 + Math.floor(Math.random() * 240);
  for (let i = 0; i < 240; i++) {
    const subnet = `198.18.${10 + (start - 10 + i) % 240}`;
    if (await hasLoopbackRoute(subnet)) continue;
    try {
      await runCommand(["ip", "route", "add", "local", cidr(subnet), "dev", "lo"]);
      return subnet;
    } catch {
      // taken meanwhile
    }
  }
  throw new Error("Cannot claim a subnet: 198.18.10.0/24 … 198.18.249.0/24 are all routed already");
}
