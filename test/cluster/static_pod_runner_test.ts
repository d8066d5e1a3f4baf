import assert from "node:assert/strict";
import { join } from "node:path";
import { eventually } from "./harness.ts";
import { type ComponentStatus, StaticPodRunner } from "./static_pod_runner.ts";

function manifest(opts: { seconds: number; annotation?: string; comment?: string }): string {
  return [
    opts.comment ? `# ${opts.comment}` : "",
    "apiVersion: v1",
    "kind: Pod",
    "metadata:",
    "  name: sleeper",
    "  namespace: kube-system",
    ...(opts.annotation
      ? ["  annotations:", `    example.com/restarted-at: "${opts.annotation}"`]
      : []),
    "spec:",
    "  containers:",
    "  - name: sleeper",
    "    command:",
    "    - sleep",
    `    - "${opts.seconds}"`,
    "",
  ].join("\n");
}

Deno.test({
  name:
    "StaticPodRunner starts, restarts on pod changes only, restarts crashed processes, stops removed pods",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir();
    const dir = join(root, "etc/kubernetes/manifests");
    await Deno.mkdir(dir, { recursive: true });
    const file = join(dir, "sleeper.yaml");
    const status = async (): Promise<ComponentStatus> =>
      JSON.parse(await Deno.readTextFile(join(root, "var/run/static-pods/sleeper.json")));
    await Deno.writeTextFile(file, manifest({ seconds: 300 }));
    const runner = new StaticPodRunner({
      node: { name: "n1", root, ip: "127.0.0.1" },
      binDir: "/bin",
      log: () => {},
      pollMs: 100,
    });
    await runner.start();
    try {
      const first = await eventually(
        "sleeper running",
        async () => {
          const s = await status();
          return s.state === "running" && s.ready ? s : undefined;
        },
        10_000,
        100,
      );
      assert.equal(first.restarts, 0);
      assert.deepEqual(first.command, ["/bin/sleep", "300"]);
      assert.deepEqual(runner.pids(), { sleeper: first.pid });

      // A comment changes the bytes but not the pod: no restart.
      await Deno.writeTextFile(file, manifest({ seconds: 300, comment: "reformatted" }));
      await eventually(
        "new manifest hash",
        async () => (await status()).manifestHash !== first.manifestHash,
        5000,
        100,
      );
      assert.equal((await status()).pid, first.pid);

      // An annotation changes the pod: restart.
      await Deno.writeTextFile(file, manifest({ seconds: 300, annotation: "1" }));
      const second = await eventually(
        "restart after an annotation change",
        async () => {
          const s = await status();
          return s.pid !== first.pid && s.state === "running" ? s : undefined;
        },
        10_000,
        100,
      );
      assert.equal(second.restarts, 1);
      assert.equal(second.lastRestartReason, "manifest-changed");
      assert.notEqual(second.podHash, first.podHash);

      // A process that exits is restarted (with back-off).
      await Deno.writeTextFile(file, manifest({ seconds: 0.2, annotation: "2" }));
      const crashed = await eventually(
        "restart after exit",
        async () => {
          const s = await status();
          return s.lastRestartReason === "exited" && s.lastExit?.code === 0 ? s : undefined;
        },
        10_000,
        100,
      );
      assert.ok(crashed.restarts >= 3);

      // Removing the manifest stops the pod.
      await Deno.remove(file);
      await eventually("stopped", async () => (await status()).state === "stopped", 10_000, 100);
      assert.deepEqual(runner.pids(), {});
    } finally {
      await runner.stop();
      await Deno.remove(root, { recursive: true });
    }
  },
});
