import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalNode } from "./local.ts";
import { OverlayNode } from "../engine/overlay_node.ts";

Deno.test("a local node maps node paths under its root, writes 0600 keys and backs up first", async () => {
  const root = await Deno.makeTempDir({ prefix: "ca-rotator-local-" });
  try {
    const node = new LocalNode({ name: "cp-1", root, backupDir: "/var/lib/ca-rotator/backup" });
    assert.equal(await node.readFile("/etc/kubernetes/pki/ca.key"), undefined);
    await node.writeFile("/etc/kubernetes/pki/ca.key", "old\n", { mode: 0o600 });
    await node.writeFile("/etc/kubernetes/pki/ca.key", "new\n", { mode: 0o600 });
    const host = join(root, "etc/kubernetes/pki/ca.key");
    assert.equal(await Deno.readTextFile(host), "new\n");
    assert.equal((await Deno.stat(host)).mode! & 0o777, 0o600);
    const backupDir = join(root, "var/lib/ca-rotator/backup/etc/kubernetes/pki");
    const backups = [...Deno.readDirSync(backupDir)];
    assert.equal(backups.length, 1);
    assert.equal(await Deno.readTextFile(join(backupDir, backups[0].name)), "old\n");
    assert.equal((await Deno.stat(join(backupDir, backups[0].name))).mode! & 0o777, 0o600);
    await node.removeFile("/etc/kubernetes/pki/ca.key");
    assert.equal(await node.readFile("/etc/kubernetes/pki/ca.key"), undefined);
    assert.throws(() => node.hostPath("etc/relative"), /not absolute/);
    const result = await node.run(["sh", "-c", 'echo "$NODE_NAME $NODE_ROOT"']);
    assert.equal(result.stdout, `cp-1 ${root}\n`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the overlay of a node keeps writes and commands in memory", async () => {
  const root = await Deno.makeTempDir({ prefix: "ca-rotator-overlay-" });
  try {
    const base = new LocalNode({ name: "cp-1", root, backupDir: "/backup" });
    await base.writeFile("/etc/a", "live\n");
    const overlay = new OverlayNode(base);
    await overlay.writeFile("/etc/a", "planned\n");
    await overlay.removeFile("/etc/b");
    assert.equal(await overlay.readFile("/etc/a"), "planned\n");
    assert.equal(await base.readFile("/etc/a"), "live\n");
    assert.deepEqual(await overlay.run(["touch", join(root, "ran")]), {
      code: 0,
      stdout: "",
      stderr: "",
    });
    assert.deepEqual(overlay.commands, [["touch", join(root, "ran")]]);
    assert.equal(await base.readFile("/ran"), undefined, "the command did not run");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a local write is whole or absent: a failed one leaves the file and no temporary file", async () => {
  const root = await Deno.makeTempDir({ prefix: "ca-rotator-local-" });
  try {
    const node = new LocalNode({ name: "cp-1", root, backupDir: "/var/lib/ca-rotator/backup" });
    const manifests = join(root, "etc/kubernetes/manifests");
    await node.writeFile("/etc/kubernetes/manifests/kube-scheduler.yaml", "whole\n");
    // The temporary file would be a dot file, which a kubelet does not load as a manifest; a
    // directory in its place makes the write fail.
    await Deno.mkdir(join(manifests, ".kube-scheduler.yaml.ca-rotator.tmp/inside"), {
      recursive: true,
    });
    await assert.rejects(
      node.writeFile("/etc/kubernetes/manifests/kube-scheduler.yaml", "new\n"),
    );
    assert.equal(await node.readFile("/etc/kubernetes/manifests/kube-scheduler.yaml"), "whole\n");
    await Deno.remove(join(manifests, ".kube-scheduler.yaml.ca-rotator.tmp"), { recursive: true });
    await node.writeFile("/etc/kubernetes/manifests/kube-scheduler.yaml", "new\n");
    assert.deepEqual([...Deno.readDirSync(manifests)].map((entry) => entry.name), [
      "kube-scheduler.yaml",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ca-rotator's own files on a node (beside the backups) are not backed up", async () => {
  const root = await Deno.makeTempDir({ prefix: "ca-rotator-local-" });
  try {
    const node = new LocalNode({ name: "cp-1", root, backupDir: "/var/lib/ca-rotator/backup" });
    await node.writeFile("/var/lib/ca-rotator/kubelet-restart-pending", "step\n");
    await node.removeFile("/var/lib/ca-rotator/kubelet-restart-pending");
    await node.writeFile("/etc/kubernetes/admin.conf", "old\n");
    await node.writeFile("/etc/kubernetes/admin.conf", "new\n");
    const backups: string[] = [];
    const walk = (dir: string) => {
      for (const entry of Deno.readDirSync(dir)) {
        if (entry.isDirectory) walk(join(dir, entry.name));
        else backups.push(join(dir, entry.name).slice(root.length));
      }
    };
    walk(join(root, "var/lib/ca-rotator/backup"));
    const journal = "/var/lib/ca-rotator/backup/journal.jsonl";
    assert.deepEqual(backups.filter((path) => path !== journal).length, 1, backups.join("\n"));
    assert.match(
      backups.find((path) => path !== journal)!,
      /^\/var\/lib\/ca-rotator\/backup\/etc\/kubernetes\/admin\.conf\./,
    );
    // nor journalled: a rollback must not replay a run's bookkeeping
    const journalled = await Deno.readTextFile(join(root, journal));
    assert.doesNotMatch(journalled, /kubelet-restart-pending/);
    assert.match(journalled, /admin\.conf/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a local node stages files beside their places, backed up, and puts them in place at commit", async () => {
  const root = await Deno.makeTempDir({ prefix: "ca-rotator-local-" });
  try {
    const node = new LocalNode({ name: "cp-1", root, backupDir: "/var/lib/ca-rotator/backup" });
    await node.writeFile("/etc/kubernetes/admin.conf", "old\n");
    await node.writeFile("/etc/kubernetes/gone.conf", "gone\n");
    const staged = await node.stageFiles([
      { path: "/etc/kubernetes/admin.conf", content: "new\n", mode: 0o600 },
      { path: "/etc/kubernetes/gone.conf", content: undefined },
    ]);
    assert.equal(await node.readFile("/etc/kubernetes/admin.conf"), "old\n", "not yet in place");
    assert.equal(await node.readFile("/etc/kubernetes/gone.conf"), "gone\n", "not yet removed");
    await staged.commit();
    assert.equal(await node.readFile("/etc/kubernetes/admin.conf"), "new\n");
    assert.equal((await Deno.stat(join(root, "etc/kubernetes/admin.conf"))).mode! & 0o777, 0o600);
    assert.equal(await node.readFile("/etc/kubernetes/gone.conf"), undefined);
    const before = await node.filesAsOf(new Date(0), new Date());
    assert.ok(before.some((file) => file.path === "/etc/kubernetes/gone.conf"), "journaled");

    const discarded = await node.stageFiles([
      { path: "/etc/kubernetes/admin.conf", content: "third\n" },
    ]);
    await discarded.discard();
    assert.equal(await node.readFile("/etc/kubernetes/admin.conf"), "new\n");
    const dotFiles = [...Deno.readDirSync(join(root, "etc/kubernetes"))]
      .map((entry) => entry.name).filter((name) => name.startsWith("."));
    assert.deepEqual(dotFiles, [], "no staged file left");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
