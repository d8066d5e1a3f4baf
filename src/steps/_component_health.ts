/**
 * Health of a static-pod component, probed as the kubelet probes it: the manifest's readiness
 * (else liveness) probe URL, requested on the node itself.
 * @module
 */
import { parseDocument } from "yaml";
import type { StepContext } from "../engine/step.ts";
import type { NodeAccess } from "../engine/node_access.ts";

interface ContainerJson {
  ports?: { name?: string; containerPort?: number }[];
  [probe: string]: unknown;
}

/**
 * The URL of the manifest's readiness (else startup, else liveness) probe, when it has an HTTP
 * one; a named port (kubeadm's `probe-port`) is looked up in the container's ports.
 */
export function probeUrl(manifest: string): string | undefined {
  const container = parseDocument(manifest).toJS()?.spec?.containers?.[0] as
    | ContainerJson
    | undefined;
  if (!container) return undefined;
  for (const probe of ["readinessProbe", "startupProbe", "livenessProbe"]) {
    const get = (container[probe] as { httpGet?: Record<string, unknown> } | undefined)?.httpGet;
    if (!get) continue;
    const port = typeof get.port === "string" && !/^\d+$/.test(get.port)
      ? container.ports?.find((each) => each.name === get.port)?.containerPort
      : get.port;
    if (port === undefined) continue;
    const scheme = String(get.scheme ?? "HTTP").toLowerCase();
    const host = String(get.host ?? "127.0.0.1");
    return `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}${get.path ?? "/"}`;
  }
  return undefined;
}

/** True when the probe answers 200 on the node (as the kubelet, it does not verify TLS). */
export async function probeHealthy(node: NodeAccess, url: string): Promise<boolean> {
  const result = await node.run([
    "curl",
    "-sk",
    "--max-time",
    "2",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    node.reachableUrl?.(url) ?? url,
  ]);
  return result.stdout.trim() === "200";
}

/**
 * A node reached through a remote driver (it counts round trips): its polls run as one remote
 * command each, a loop on the node, instead of one round trip per probe.
 */
function isRemote(node: NodeAccess): boolean {
  return typeof node.roundTrips === "function";
}

/** The longest one remote poll runs before it reports back. */
const REMOTE_POLL_SECONDS = 30;

/** Polls `$1` on the node until it answers 200 (`wanted` up) or not (down), or `$2` seconds pass. */
function pollScript(wanted: "up" | "down", interval: string): string {
  const test = wanted === "up" ? '[ "$c" = 200 ]' : '[ "$c" != 200 ]';
  return [
    "end=$(( $(date +%s) + $2 ))",
    "while :; do",
    `  c=$(curl -sk --max-time 2 -o /dev/null -w '%{http_code}' "$1")`,
    `  if ${test}; then echo "$c"; exit 0; fi`,
    '  if [ "$(date +%s)" -ge "$end" ]; then echo "$c"; exit 0; fi',
    `  sleep ${interval}`,
    "done",
  ].join("\n");
}

/** Polls on the node (one round trip) until the probe answers as `wanted` or `seconds` pass. */
async function pollRemote(
  node: NodeAccess,
  url: string,
  wanted: "up" | "down",
  seconds: number,
): Promise<boolean> {
  const result = await node.run([
    "sh",
    "-c",
    pollScript(wanted, wanted === "up" ? "0.5" : "0.1"),
    "sh",
    node.reachableUrl?.(url) ?? url,
    String(Math.max(0, Math.ceil(seconds))),
  ]);
  const code = result.stdout.trim();
  return wanted === "up" ? code === "200" : code !== "" && code !== "200";
}

/** How long a kubelet may take to notice a changed manifest and stop the old pod. */
const RESTART_NOTICE_MS = 30_000;

/**
 * Polls the probe quickly until it fails once (the old instance stopped; true) or `limitMs`
 * passes (false): a restart can be over in a second, too short for the backed-off polling of a
 * long wait.
 */
async function waitUntilDown(node: NodeAccess, url: string, limitMs: number): Promise<boolean> {
  if (isRemote(node)) return await pollRemote(node, url, "down", limitMs / 1000);
  const deadline = Date.now() + limitMs;
  while (await probeHealthy(node, url)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

/**
 * Writes a component's manifest (which makes the kubelet restart it), then waits until the
 * component has gone down and come back healthy. `whileDown` runs once the old instance has
 * stopped answering, before the new one comes up (or, when the restart is not seen within
 * {@link RESTART_NOTICE_MS}, then): files the component would otherwise reload while it runs.
 * In a dry run only the writes happen (to the overlay).
 */
export async function rewriteManifestAndWait(
  ctx: StepContext,
  node: NodeAccess,
  component: string,
  path: string,
  manifest: string,
  timeoutMs: number,
  whileDown?: () => Promise<void>,
): Promise<void> {
  await node.writeFile(path, manifest, { mode: 0o600 });
  const url = probeUrl(manifest);
  if (!url) {
    await whileDown?.();
    ctx.log.warn(`${node.name}/${component}: its manifest has no HTTP probe; not waiting`);
    return;
  }
  if (!ctx.dryRun && !await waitUntilDown(node, url, RESTART_NOTICE_MS) && whileDown) {
    ctx.log.warn(
      `${node.name}/${component}: not seen going down within ${RESTART_NOTICE_MS / 1000} s; ` +
        "its files go in place now, while it may still run",
    );
  }
  await whileDown?.();
  await waitHealthy(ctx, node, component, url, timeoutMs);
  if (!ctx.dryRun) ctx.log.info(`${node.name}/${component} restarted and healthy`);
}

/** Waits until the component's probe at `url` answers 200 on the node, or throws after `timeoutMs`. */
export async function waitHealthy(
  ctx: StepContext,
  node: NodeAccess,
  component: string,
  url: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await ctx.waitFor(
    `${node.name}/${component} to be healthy (${url})`,
    () =>
      isRemote(node)
        ? pollRemote(
          node,
          url,
          "up",
          Math.min(REMOTE_POLL_SECONDS, Math.max(1, (deadline - Date.now()) / 1000)),
        )
        : probeHealthy(node, url),
    timeoutMs,
  );
}

/**
 * Waits until the component whose manifest is at `path` is healthy on the node, probed as its
 * current manifest says; a node without the manifest, or a manifest without an HTTP probe, is
 * not waited for.
 */
export async function waitManifestHealthy(
  ctx: StepContext,
  node: NodeAccess,
  component: string,
  path: string,
  timeoutMs: number,
): Promise<void> {
  const manifest = await node.readFile(path);
  if (manifest === undefined) return;
  const url = probeUrl(manifest);
  if (!url) {
    ctx.log.warn(`${node.name}/${component}: its manifest has no HTTP probe; not checking it`);
    return;
  }
  await waitHealthy(ctx, node, component, url, timeoutMs);
}
