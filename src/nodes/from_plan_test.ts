import assert from "node:assert/strict";
import { nodesOf, sshNodeOptions } from "./from_plan.ts";
import type { SshNodes } from "../plan/nodes.ts";

const GROUP: SshNodes = {
  driver: "ssh",
  user: "ops",
  port: 2222,
  sudo: false,
  hosts: [
    { name: "a", address: "10.0.0.1" },
    { name: "b", address: "10.0.0.2", user: "root", port: 22 },
  ],
};

Deno.test("an ssh group's user and port are each host's default; a host's own wins", () => {
  const layout = { backupDir: "/var/backup" };
  const [a, b] = GROUP.hosts!.map((host) => sshNodeOptions(GROUP, host, layout));
  assert.deepEqual([a.user, a.port], ["ops", 2222]);
  assert.deepEqual([b.user, b.port], ["root", 22]);
});

Deno.test("a group found from the cluster is not reached before it is resolved", () => {
  const unresolved: SshNodes = {
    driver: "ssh",
    sudo: false,
    fromCluster: { selector: "", addressType: "InternalIP" },
  };
  assert.throws(
    () => nodesOf(unresolved, { backupDir: "/b" } as never),
    /node group found from the cluster before it is resolved/,
  );
});
