/**
 * `deno task cluster up / env / down` as a user runs them, in single-API-server mode; and the
 * supervisor's own teardown once the process that owns the cluster has exited.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { down, up } from "./cluster.ts";
import { eventually } from "./harness.ts";
import { netnsMembers, netnsPath, networkLeftovers } from "./netns.ts";
import { type ClusterState, processGroupMembers, readState } from "./state.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

async function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ out: string; err: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(result.stdout);
  const err = new TextDecoder().decode(result.stderr);
  if (!result.success) throw new Error(`cluster ${args.join(" ")} failed:\n${err}\n${out}`);
  return { out, err };
}

/** Parses `export NAME='value'` lines (and PATH) as a shell would. */
function parseExports(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = line.match(/^export ([A-Z_]+)=(.*)$/);
    if (!m) continue;
    env[m[1]] = m[2].replace(/'([^']*)'/g, "$1").replace('"$PATH"', Deno.env.get("PATH") ?? "");
  }
  return env;
}

Deno.test({
  name: "cluster CLI: up --api-servers 1, env, kubectl through haproxy, down",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const stateDir = await Deno.makeTempDir({ prefix: "ca-rotator-cluster-cli-" });
    let pgid: number | undefined;
    let subnet: string | undefined;
    try {
      const started = Date.now();
      const up = await cli([
        "up",
        "--api-servers",
        "1",
        "--nodes",
        "1",
        "--state-dir",
        stateDir,
        "--subnet",
        "auto",
      ]);
      console.error(
        `cluster up (1 API server, 1 worker) in ${((Date.now() - started) / 1000).toFixed(1)}s`,
      );
      const state = (await readState(stateDir))!;
      pgid = state.supervisorPid;
      subnet = state.layout.options.subnet;
      assert.equal(
        up.out.trim(),
        join(stateDir, "nodes/control-plane-1/etc/kubernetes/admin.conf"),
      );
      assert.match(up.err, /\[up\] cluster ready in/);

      const env = parseExports((await cli(["env", "--state-dir", stateDir])).out);
      assert.equal(env.KUBECONFIG, up.out.trim());
      assert.equal(env.NODE_ROOTS, join(stateDir, "nodes/control-plane-1"));
      assert.equal(env.WORKER_ROOTS, join(stateDir, "nodes/worker-1"));
      assert.equal(env.CLUSTER_ENDPOINT, `https://${subnet}.100:6443`);
      assert.ok(env.PATH.startsWith(`${state.binDir}:`));

      const kubectl = async (...args: string[]) => {
        const r = await new Deno.Command("kubectl", { args, env, stdout: "piped", stderr: "piped" })
          .output();
        assert.ok(r.success, new TextDecoder().decode(r.stderr));
        return new TextDecoder().decode(r.stdout);
      };
      assert.equal((await kubectl("get", "--raw", "/readyz")).trim(), "ok");
      const nodes = JSON.parse(await kubectl("get", "nodes", "-o", "json")) as {
        items: {
          metadata: { name: string };
          status: { conditions: { type: string; status: string }[] };
        }[];
      };
      assert.deepEqual(nodes.items.map((n) => n.metadata.name).sort(), [
        "control-plane-1",
        "worker-1",
      ]);
      for (const n of nodes.items) {
        assert.ok(
          n.status.conditions.some((c) => c.type === "Ready" && c.status === "True"),
          n.metadata.name,
        );
      }
      for (
        const component of ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]
      ) {
        const s = JSON.parse(
          await Deno.readTextFile(join(env.NODE_ROOTS, `var/run/static-pods/${component}.json`)),
        );
        assert.equal(s.state, "running", component);
        assert.equal(s.ready, true, component);
      }
      await assert.rejects(
        cli(["up", "--api-servers", "1", "--state-dir", stateDir, "--subnet", "auto"]),
        /already up/,
      );
    } finally {
      await cli(["down", "--state-dir", stateDir]);
    }
    if (pgid) assert.deepEqual(processGroupMembers(pgid), []);
    await assert.rejects(Deno.stat(stateDir), Deno.errors.NotFound);
    if (subnet) assert.deepEqual(await networkLeftovers(subnet), []);
  },
});

Deno.test({
  name: "the supervisor removes the cluster, its veth and network namespace when its owner exits",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const stateDir = await Deno.makeTempDir({ prefix: "ca-rotator-cluster-owner-" });
    const owner = new Deno.Command("sleep", { args: ["600"], stdin: "null" }).spawn();
    let state: ClusterState | undefined;
    try {
      const started = Date.now();
      state = (await up({
        apiServers: 1,
        nodes: 0,
        stateDir,
        subnet: "auto",
        ownerPid: owner.pid,
        log: () => {},
      })).state;
      console.error(`cluster up (1 API server) in ${((Date.now() - started) / 1000).toFixed(1)}s`);
      const network = state.network!;
      assert.ok(netnsMembers(netnsPath(network.netns)).includes(state.supervisorPid!));
      owner.kill("SIGKILL");
      await owner.status;
      const gone = Date.now();
      await eventually("the supervisor to remove everything", async () => {
        const left = [
          ...processGroupMembers(state!.supervisorPid!).map((pid) => `pid ${pid}`),
          ...await networkLeftovers(network.subnet),
        ];
        try {
          await Deno.stat(stateDir);
          left.push(stateDir);
        } catch {
          // removed
        }
        return left.length === 0 || undefined;
      }, 60_000);
      console.error(`owner gone → cluster removed in ${((Date.now() - gone) / 1000).toFixed(1)}s`);
    } finally {
      try {
        owner.kill("SIGKILL");
        await owner.status;
      } catch {
        // already gone
      }
      await down({ stateDir, log: () => {} });
    }
  },
});
