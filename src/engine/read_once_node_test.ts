import assert from "node:assert/strict";
import { readOnce } from "./read_once_node.ts";
import { LocalNode } from "../nodes/local.ts";

Deno.test("readOnce answers a path's later reads from its first and delegates the rest", async () => {
  const root = await Deno.makeTempDir({ prefix: "ca-rotator-read-once-" });
  try {
    const base = new LocalNode({ name: "cp-1", root, backupDir: "/var/lib/ca-rotator/backup" });
    await base.writeFile("/etc/kubernetes/admin.conf", "first\n");
    const node = readOnce(base);
    assert.equal(node.name, "cp-1");
    assert.equal(await node.readFile("/etc/kubernetes/admin.conf"), "first\n");
    await base.writeFile("/etc/kubernetes/admin.conf", "second\n");
    assert.equal(await node.readFile("/etc/kubernetes/admin.conf"), "first\n", "kept");
    assert.equal(await base.readFile("/etc/kubernetes/admin.conf"), "second\n");
    assert.equal(await node.readFile("/etc/missing"), undefined);
    const result = await node.run(["sh", "-c", 'echo "$NODE_NAME"']);
    assert.equal(result.stdout.trim(), "cp-1", "commands go to the node");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** A driver with a private field, as the ssh driver has. */
class PrivateNode {
  readonly #root: string;
  constructor(root: string) {
    this.#root = root;
  }
  get name(): string {
    return `node at ${this.#root}`;
  }
  readFile(path: string): Promise<string | undefined> {
    return Promise.resolve(`${this.#root}${path}`);
  }
  writeFile(): Promise<void> {
    return Promise.resolve();
  }
  removeFile(): Promise<void> {
    return Promise.resolve();
  }
  run(command: readonly string[]) {
    return Promise.resolve({ code: 0, stdout: `${this.#root}: ${command.join(" ")}`, stderr: "" });
  }
}

Deno.test("readOnce calls a driver's own members on the driver (its private fields reachable)", async () => {
  const node = readOnce(new PrivateNode("/r"));
  assert.equal(node.name, "node at /r");
  assert.equal(await node.readFile("/a"), "/r/a");
  assert.equal((await node.run(["true"])).stdout, "/r: true");
});
