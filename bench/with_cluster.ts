/**
 * `deno task bench`: starts a real control plane, fills it with 1,000 kwok nodes and their kubelet
 * CSRs (bench/populate_kwok_nodes.ts), runs the benchmarks in bench/ against it
 * (BENCH_KUBECONFIG), and tears it down.
 * @module
 */
import { startCluster } from "../test/cluster/harness.ts";

const NODES = Deno.env.get("BENCH_NODES") ?? "1000";
const here = new URL(".", import.meta.url).pathname;

async function run(args: string[], env: Record<string, string>): Promise<number> {
  const { code } = await new Deno.Command(Deno.execPath(), {
    args,
    env,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  return code;
}

const cluster = await startCluster({ apiServers: 1, nodes: 1 });
let code = 1;
try {
  console.error(`[bench] populating ${NODES} kwok nodes with kubelet CSRs`);
  code = await run(
    ["run", "-A", `${here}populate_kwok_nodes.ts`, cluster.kubeconfig, NODES],
    cluster.env,
  );
  if (code === 0) {
    code = await run(["bench", "-A", here], {
      ...cluster.env,
      BENCH_KUBECONFIG: cluster.kubeconfig,
    });
  }
} finally {
  await cluster.stop();
}
Deno.exit(code);
