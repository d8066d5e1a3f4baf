/**
 * Waiting for the test cluster: a condition polled until it holds or time runs out, and the
 * nodes registered or Ready.
 * @module
 */

/** Polls `check` every 500 ms until it resolves `true`; throws after `timeoutMs`. */
export async function waitFor(
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

/**
 * Waits until every node in `names` is registered (`ready` false) or Ready (`ready` true),
 * asking with `kubectl get nodes`; the error of a timeout names the nodes still missing.
 */
export async function waitForNodes(
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
