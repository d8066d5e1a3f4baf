/**
 * The network of a test cluster: a network namespace of its own (`ca-rotator-<n>` for subnet
 * `198.18.<n>`) joined to the root namespace by a veth pair. The namespace side
 * (`carot<n>n`) carries every node address (`198.18.<n>.1…` for the control-plane nodes,
 * `.100` haproxy, `.200` kwok); the root side (`carot<n>h`) has `198.18.<n>.254/24` and
 * nothing else, so the root namespace only has the veth's connected route to the subnet.
 * Everything that listens on a node address (the supervisor and all it starts) runs inside
 * the namespace; tests, kubectl and the orchestrator reach the nodes through the veth.
 * kubeadm refuses loopback (127.x) advertise addresses, which is why the nodes are not on
 * 127.0.0.0/8.
 * @module
 */
import { runCommand } from "./managed_process.ts";

/** The network namespace and veth pair of one cluster, as recorded in state.json. */
export interface ClusterNetwork {
  /** First three octets of the node addresses, `198.18.<n>`. */
  subnet: string;
  /** Name of the network namespace (`ip netns`), `ca-rotator-<n>`. */
  netns: string;
  /** The veth end in the root namespace, `carot<n>h`, with {@linkcode ClusterNetwork.hostAddress}. */
  hostInterface: string;
  /** The veth end inside the namespace, `carot<n>n`, with every node address. */
  nsInterface: string;
  /** Address of the root namespace's veth end, `198.18.<n>.254`. */
  hostAddress: string;
  /** The node addresses on {@linkcode ClusterNetwork.nsInterface}. */
  addresses: string[];
  /**
   * Who made the network (the cluster's state directory), also set as the alias of the root
   * side's veth end and of `lo` inside the namespace, so that a stale state.json never tears
   * down another cluster's namespace of the same name.
   */
  owner: string;
}

/** Subnets `subnet: "auto"` picks from: 198.18.10 … 198.18.249. */
const AUTO_FIRST = 10;
const AUTO_COUNT = 240;

/** The third octet of `198.18.<n>`; throws for anything else. */
export function subnetOctet(subnet: string): number {
  const m = subnet.match(/^198\.18\.(\d{1,3})$/);
  const n = m ? Number(m[1]) : NaN;
  if (!(n >= 0 && n <= 255)) {
    throw new Error(`Cannot use subnet "${subnet}": expected 198.18.<0..255>`);
  }
  return n;
}

/** The names of the namespace, the veth ends and the root side's address for a subnet. */
export function networkFor(subnet: string, addresses: string[], owner = ""): ClusterNetwork {
  const n = subnetOctet(subnet);
  return {
    subnet,
    netns: `ca-rotator-${n}`,
    hostInterface: `carot${n}h`,
    nsInterface: `carot${n}n`,
    hostAddress: `${subnet}.254`,
    addresses,
    owner,
  };
}

/** Path of a named network namespace (bind mount made by `ip netns add`). */
export function netnsPath(netns: string): string {
  return `/run/netns/${netns}`;
}

/** `ip netns exec <netns> <argv…>`: runs argv inside the namespace (ip execs it, same pid). */
export function inNetns(netns: string, argv: string[]): string[] {
  return ["ip", "netns", "exec", netns, ...argv];
}

function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const p of parts) {
    const octet = Number(p);
    if (!/^\d{1,3}$/.test(p) || octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** Whether two IPv4 prefixes (`a.b.c.d[/len]`) overlap. */
export function prefixesOverlap(a: string, b: string): boolean {
  const range = (prefix: string) => {
    const [addr, len = "32"] = prefix.split("/");
    const base = parseIpv4(addr);
    const bits = Number(len);
    if (base === undefined || !(bits >= 0 && bits <= 32)) return undefined;
    const size = 2 ** (32 - bits);
    const start = Math.floor(base / size) * size;
    return [start, start + size - 1] as const;
  };
  const ra = range(a);
  const rb = range(b);
  if (!ra || !rb) return false;
  return ra[0] <= rb[1] && rb[0] <= ra[1];
}

/**
 * Routes of the root namespace (every table) that overlap `<subnet>.0/24`, as `ip` prints
 * them; the default route is not counted. Any such route (a loopback route of another
 * cluster, a veth of another cluster, a real network) means the subnet is taken.
 */
export async function overlappingRoutes(subnet: string): Promise<string[]> {
  const out = await runCommand(["ip", "-4", "-o", "route", "show", "table", "all"]);
  const types = new Set([
    "unicast",
    "local",
    "broadcast",
    "multicast",
    "anycast",
    "blackhole",
    "unreachable",
    "prohibit",
    "throw",
    "nat",
  ]);
  return out.split("\n").filter((line) => {
    const words = line.trim().split(/\s+/);
    const dst = types.has(words[0]) ? words[1] : words[0];
    return !!dst && dst !== "default" && prefixesOverlap(dst, `${subnet}.0/24`);
  });
}

/** Whether a named network namespace exists. */
export async function netnsExists(netns: string): Promise<boolean> {
  try {
    await Deno.lstat(netnsPath(netns));
    return true;
  } catch {
    return false;
  }
}

/** Whether a network interface exists in the calling process's namespace. */
export async function linkExists(name: string): Promise<boolean> {
  try {
    await Deno.lstat(`/sys/class/net/${name}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether anything of the network of `subnet` is still there, seen from the root namespace:
 * the namespace, the root-side veth, or any route to the subnet.
 */
export async function networkLeftovers(subnet: string): Promise<string[]> {
  const net = networkFor(subnet, []);
  const left: string[] = [];
  if (await netnsExists(net.netns)) left.push(`network namespace ${net.netns}`);
  if (await linkExists(net.hostInterface)) left.push(`interface ${net.hostInterface}`);
  for (const route of await overlappingRoutes(subnet)) left.push(`route ${route.trim()}`);
  return left;
}

/**
 * Creates the network of a cluster: `ip netns add` (which fails when the namespace exists, so
 * two clusters never get the same subnet), the veth pair, the root side's address, the node
 * addresses inside, and `lo` up inside; the root-side veth end and `lo` inside get `owner` as
 * their alias. Removes what it made if a step fails.
 */
export async function createNetwork(
  subnet: string,
  addresses: string[],
  owner: string,
): Promise<ClusterNetwork> {
  const net = networkFor(subnet, addresses, owner);
  const routes = await overlappingRoutes(subnet);
  if (routes.length > 0) {
    throw new Error(
      `Cannot use subnet ${subnet}: the root network namespace already routes it (${
        routes.map((r) => r.trim()).join("; ")
      })`,
    );
  }
  try {
    await runCommand(["ip", "netns", "add", net.netns]);
  } catch (error) {
    throw new Error(
      `Cannot use subnet ${subnet}: cannot create network namespace ${net.netns} (another cluster's?): ${
        (error as Error).message
      }`,
    );
  }
  try {
    await runCommand([
      "ip",
      "link",
      "add",
      net.hostInterface,
      "type",
      "veth",
      "peer",
      "name",
      net.nsInterface,
      "netns",
      net.netns,
    ]);
    await runCommand(["ip", "link", "set", net.hostInterface, "alias", aliasOf(owner)]);
    await runCommand(["ip", "addr", "add", `${net.hostAddress}/24`, "dev", net.hostInterface]);
    await runCommand(["ip", "link", "set", net.hostInterface, "up"]);
    const inside = (args: string[]) => runCommand(["ip", "-n", net.netns, ...args]);
    await inside(["link", "set", "lo", "alias", aliasOf(owner)]);
    await inside(["link", "set", "lo", "up"]);
    for (const address of addresses) {
      await inside(["addr", "add", `${address}/24`, "dev", net.nsInterface]);
    }
    await inside(["link", "set", net.nsInterface, "up"]);
  } catch (error) {
    // The namespace is this call's own: `ip netns add` made it.
    await removeNetwork(net, { netns: true, hostInterface: true }).catch(() => {});
    throw error;
  }
  return net;
}

/**
 * Claims a free subnet 198.18.<n> (10 ≤ n < 250) by creating its network: a subnet the root
 * namespace routes already is skipped, and creating the namespace fails when another claimer
 * got there first, so concurrent clusters never share one.
 */
export async function claimNetwork(
  addressesFor: (subnet: string) => string[],
  owner: string,
): Promise<ClusterNetwork> {
  const start = Math.floor(Math.random() * AUTO_COUNT);
  for (let i = 0; i < AUTO_COUNT; i++) {
    const subnet = `198.18.${AUTO_FIRST + (start + i) % AUTO_COUNT}`;
    const net = networkFor(subnet, []);
    if (await netnsExists(net.netns) || await linkExists(net.hostInterface)) continue;
    if ((await overlappingRoutes(subnet)).length > 0) continue;
    try {
      return await createNetwork(subnet, addressesFor(subnet), owner);
    } catch {
      // taken meanwhile
    }
  }
  throw new Error(
    `Cannot claim a subnet: 198.18.${AUTO_FIRST}.0/24 … 198.18.${
      AUTO_FIRST + AUTO_COUNT - 1
    }.0/24 are all taken`,
  );
}

/** The interface alias marking a cluster's network (aliases hold up to 255 bytes). */
function aliasOf(owner: string): string {
  return `ca-rotator:${owner.slice(-200)}`;
}

/** Which parts of a network, as named in a state.json, still are that cluster's. */
export interface NetworkOwnership {
  /** The namespace exists and its `lo` carries the owner's alias. */
  netns: boolean;
  /** The root-side veth end exists and carries the owner's alias. */
  hostInterface: boolean;
}

/**
 * Checks the aliases set by {@linkcode createNetwork}: a namespace or interface of the same
 * name that another cluster made (after this one's went away) is not this cluster's.
 */
export async function networkOwnership(net: ClusterNetwork): Promise<NetworkOwnership> {
  const alias = aliasOf(net.owner);
  let hostInterface = false;
  try {
    const text = await Deno.readTextFile(`/sys/class/net/${net.hostInterface}/ifalias`);
    hostInterface = text.trim() === alias;
  } catch {
    // no root-side end
  }
  let netns = false;
  if (await netnsExists(net.netns)) {
    try {
      const out = await runCommand(["ip", "-n", net.netns, "-j", "link", "show", "dev", "lo"]);
      netns = (JSON.parse(out) as { ifalias?: string }[])[0]?.ifalias === alias;
    } catch {
      // unreadable: not provably ours
    }
  }
  return { netns, hostInterface };
}

/** The network-namespace inode of a namespace file (`/run/netns/<name>`, `/proc/<pid>/ns/net`). */
function netnsInode(path: string): number | undefined {
  try {
    return Deno.statSync(path).ino ?? undefined;
  } catch {
    return undefined;
  }
}

/** Pids of the live processes inside a network namespace (given by its file). */
export function netnsMembers(nsFile: string): number[] {
  const ino = netnsInode(nsFile);
  if (ino === undefined) return [];
  const members: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const link = Deno.readLinkSync(`/proc/${entry.name}/ns/net`);
      if (link !== `net:[${ino}]`) continue;
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state !== "Z" && state !== "X") members.push(Number(entry.name));
    } catch {
      // the process ended while we looked
    }
  }
  return members;
}

/**
 * Removes the network from the root namespace: deletes the root-side veth (which takes its
 * peer with it) and the namespace, each only if it is the cluster's (see
 * {@linkcode networkOwnership}). Run it once the processes inside are gone; a process still
 * inside keeps the (then nameless, unreachable) namespace alive until it exits.
 */
export async function removeNetwork(net: ClusterNetwork, owned: NetworkOwnership): Promise<void> {
  if (owned.hostInterface && await linkExists(net.hostInterface)) {
    await runCommand(["ip", "link", "del", net.hostInterface]);
  }
  if (owned.netns && await netnsExists(net.netns)) {
    await runCommand(["ip", "netns", "del", net.netns]);
  }
}

/** Whether the calling process is inside the named network namespace. */
export function insideNetns(netns: string): boolean {
  const own = netnsInode("/proc/self/ns/net");
  return own !== undefined && own === netnsInode(netnsPath(netns));
}

/**
 * Removes the network from inside the namespace (the supervisor's self-cleanup): deleting the
 * namespace-side veth deletes the root side too, then the namespace's name goes; the namespace
 * itself ends when its last process (the caller) exits. Does nothing unless the caller is
 * inside that namespace.
 */
export async function removeNetworkFromInside(net: ClusterNetwork): Promise<void> {
  if (!insideNetns(net.netns)) {
    throw new Error(`Cannot remove ${net.netns} from inside: this process is not in it`);
  }
  if (await linkExists(net.nsInterface)) {
    await runCommand(["ip", "link", "del", net.nsInterface]);
  }
  if (await netnsExists(net.netns)) await runCommand(["ip", "netns", "del", net.netns]);
}
