import assert from "node:assert/strict";
import { join } from "node:path";
import { SshError, SshNode } from "./ssh.ts";
import { SshConnections } from "./ssh_connections.ts";

const SSHD = "/usr/sbin/sshd";

async function run(program: string, args: string[]): Promise<void> {
  const output = await new Deno.Command(program, { args, stdout: "null", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(`${program} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** An sshd of this test's own on 127.0.0.1, accepting one key for the current user. */
async function startSshd() {
  const dir = await Deno.makeTempDir({ prefix: "ca-rotator-sshd-" });
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key")]);
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "client_key")]);
  await Deno.copyFile(join(dir, "client_key.pub"), join(dir, "authorized_keys"));
  const port = freePort();
  await Deno.writeTextFile(
    join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(dir, "host_key")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "PermitRootLogin prohibit-password",
    ].join("\n") + "\n",
  );
  await Deno.mkdir("/run/sshd", { recursive: true });
  const sshd = new Deno.Command(SSHD, {
    args: ["-D", "-e", "-f", join(dir, "sshd_config")],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 50; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const user = Deno.env.get("USER") ?? "root";
  const hostKey = (await Deno.readTextFile(join(dir, "host_key.pub"))).split(" ").slice(0, 2);
  await Deno.writeTextFile(join(dir, "known_hosts"), `[127.0.0.1]:${port} ${hostKey.join(" ")}\n`);
  const node = new SshNode({
    name: "ssh-node",
    address: "127.0.0.1",
    port,
    user,
    identityFile: join(dir, "client_key"),
    backupDir: join(dir, "backup"),
    sshOptions: ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "LogLevel=ERROR"],
  });
  /** A node of this sshd with other options (pinned host key by default). */
  const nodeWith = (options: Partial<ConstructorParameters<typeof SshNode>[0]> = {}) =>
    new SshNode({
      name: "ssh-node",
      address: "127.0.0.1",
      port,
      user,
      identityFile: join(dir, "client_key"),
      knownHostsFile: join(dir, "known_hosts"),
      backupDir: join(dir, "backup"),
      ...options,
    });
  return {
    dir,
    port,
    node,
    nodeWith,
    async stop() {
      sshd.kill("SIGTERM");
      await sshd.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test({
  name: "the ssh driver reads, writes (0600, backed up), removes and runs through a real sshd",
  ignore: !(await Deno.stat(SSHD).then(() => true, () => false)),
}, async () => {
  const sshd = await startSshd();
  try {
    const { node, dir } = sshd;
    const path = join(dir, "node/etc/kubernetes/pki/ca.key");
    assert.equal(await node.readFile(path), undefined, "a missing file reads as undefined");

    const since = new Date();
    await node.writeFile(path, "first key\n", { mode: 0o600 });
    assert.equal(await node.readFile(path), "first key\n");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);

    await node.writeFile(path, "second key\n", { mode: 0o600 });
    assert.equal(await Deno.readTextFile(path), "second key\n");
    const backups: string[] = [];
    for await (const entry of Deno.readDir(join(dir, "backup", dirOf(path)))) {
      backups.push(await Deno.readTextFile(join(dir, "backup", dirOf(path), entry.name)));
    }
    assert.deepEqual(backups, ["first key\n"], "the previous content was backed up first");

    // The journal beside the backups: the first write created the file.
    assert.deepEqual(await node.filesAsOf(since, new Date(Date.now() + 1000)), [
      { path, content: undefined },
    ]);
    const journal = await Deno.readTextFile(join(dir, "backup", "journal.jsonl"));
    const afterFirst = new Date(JSON.parse(journal.split("\n")[1]).at);
    assert.deepEqual(await node.filesAsOf(afterFirst, new Date(Date.now() + 1000)), [
      { path, content: "first key\n" },
    ]);

    await node.removeFile(path);
    assert.equal(await node.readFile(path), undefined);
    await node.removeFile(path);

    const result = await node.run(["sh", "-c", 'echo "$0 ran"', "it's"]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, "it's ran\n");
  } finally {
    await sshd.stop();
  }
});

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}

Deno.test({
  name:
    "the ssh driver multiplexes one connection per host and reads a directory in one round trip",
  ignore: !(await Deno.stat(SSHD).then(() => true, () => false)),
}, async () => {
  const sshd = await startSshd();
  const connections = new SshConnections();
  try {
    const node = sshd.nodeWith({ connections });
    const dir = join(sshd.dir, "node/etc/kubernetes/pki");
    await Deno.mkdir(dir, { recursive: true });
    for (const name of ["ca.crt", "ca.key", "front-proxy-ca.crt"]) {
      await Deno.writeTextFile(join(dir, name), `${name}\n`);
    }
    await node.connect();
    assert.equal(node.roundTrips(), 1);
    assert.equal(await node.readFile(join(dir, "ca.crt")), "ca.crt\n");
    assert.equal(await node.readFile(join(dir, "ca.key")), "ca.key\n");
    assert.equal(await node.readFile(join(dir, "missing.crt")), undefined);
    assert.equal(node.roundTrips(), 2, "three reads of one directory: one round trip");
    await node.writeFile(join(dir, "ca.crt"), "new\n");
    assert.equal(await node.readFile(join(dir, "ca.crt")), "new\n", "a write forgets the listing");
    assert.equal(node.roundTrips(), 4);
    await node.link(join(dir, "ca.crt"), join(dir, "current.crt"));
    assert.equal(await Deno.readLink(join(dir, "current.crt")), "ca.crt", "linked relatively");

    const controlDir = dirname(await controlPath(connections));
    assert.equal((await Deno.stat(controlDir)).mode! & 0o777, 0o700, "a private directory");
    const sockets = [...Deno.readDirSync(controlDir)];
    assert.equal(sockets.length, 1, "one master connection for the host");
    await connections.close();
    await assert.rejects(Deno.stat(controlDir), "closed: the directory is gone");
  } finally {
    await connections.close();
    await sshd.stop();
  }
});

Deno.test({
  name:
    "the ssh driver names the host and the cause: refused key, changed host key, unreachable, missing identity",
  ignore: !(await Deno.stat(SSHD).then(() => true, () => false)),
}, async () => {
  const sshd = await startSshd();
  try {
    const failure = async (node: SshNode) => {
      const error = await node.connect().then(() => undefined, (e) => e);
      assert.ok(error instanceof SshError, `an SshError: ${error}`);
      assert.match(error.message, /^ssh-node \(\S+@127\.0\.0\.1:\d+\): cannot connect over ssh: /);
      return error as SshError;
    };
    await sshd.nodeWith().connect();

    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(sshd.dir, "other_key")]);
    const refused = await failure(sshd.nodeWith({ identityFile: join(sshd.dir, "other_key") }));
    assert.equal(refused.kind, "key-refused");
    assert.match(refused.message, /refused the key .*other_key for user/);

    const other = (await Deno.readTextFile(join(sshd.dir, "other_key.pub"))).split(" ");
    await Deno.writeTextFile(
      join(sshd.dir, "changed_hosts"),
      `[127.0.0.1]:${sshd.port} ${other[0]} ${other[1]}\n`,
    );
    const changed = await failure(
      sshd.nodeWith({ knownHostsFile: join(sshd.dir, "changed_hosts") }),
    );
    assert.equal(changed.kind, "host-key-changed");
    assert.match(changed.message, /does not match the one pinned in .*changed_hosts/);

    const unreachable = await failure(sshd.nodeWith({ port: freePort() }));
    assert.equal(unreachable.kind, "unreachable");
    assert.match(unreachable.message, /unreachable \(.*Connection refused\)/);

    const missing = await failure(sshd.nodeWith({ identityFile: join(sshd.dir, "no_such_key") }));
    assert.equal(missing.kind, "missing-file");
    assert.match(missing.message, /identity file .*no_such_key does not exist/);
  } finally {
    await sshd.stop();
  }
});

/** The control socket path pattern of a run's connections (its directory is the run's own). */
async function controlPath(connections: SshConnections): Promise<string> {
  const option = (await connections.options()).find((each) => each.startsWith("ControlPath="))!;
  return option.slice("ControlPath=".length);
}

function dirname(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}

Deno.test({
  name:
    "the ssh driver writes a batch of files in one round trip and stops at the first failure, naming it",
  ignore: !(await Deno.stat(SSHD).then(() => true, () => false)),
}, async () => {
  const sshd = await startSshd();
  try {
    const node = sshd.nodeWith();
    const dir = join(sshd.dir, "node/etc/kubernetes");
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(join(dir, "old.conf"), "old\n");
    await Deno.writeTextFile(join(dir, "not-a-dir"), "a file\n");
    await node.writeFiles([
      { path: join(dir, "a.conf"), content: "é a\n", mode: 0o600 },
      { path: join(dir, "old.conf"), content: undefined },
      { path: join(dir, "pki/b.crt"), content: "" },
    ]);
    assert.equal(node.roundTrips(), 1);
    assert.equal(await Deno.readTextFile(join(dir, "a.conf")), "é a\n");
    assert.equal((await Deno.stat(join(dir, "a.conf"))).mode! & 0o777, 0o600);
    assert.equal(await Deno.readTextFile(join(dir, "pki/b.crt")), "");
    await assert.rejects(Deno.stat(join(dir, "old.conf")), "removed");

    const error = await node.writeFiles([
      { path: join(dir, "a.conf"), content: "second\n" },
      { path: join(dir, "not-a-dir/c.conf"), content: "c\n" },
      { path: join(dir, "d.conf"), content: "d\n" },
    ]).then(() => undefined, (e) => e);
    assert.ok(error instanceof SshError);
    assert.match(error.message, /^ssh-node \(.*\): cannot write .*not-a-dir\/c\.conf over ssh: /);
    assert.equal(await Deno.readTextFile(join(dir, "a.conf")), "second\n", "written before");
    await assert.rejects(Deno.stat(join(dir, "d.conf")), "not written after the failure");
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((entry) => entry.name).filter((name) => name.endsWith(".tmp")),
      [],
      "no temporary file left",
    );
  } finally {
    await sshd.stop();
  }
});

Deno.test({
  name:
    "the ssh driver stages a batch beside the files in one round trip, puts it in place in a second, and a failed stage leaves nothing",
  ignore: !(await Deno.stat(SSHD).then(() => true, () => false)),
}, async () => {
  const sshd = await startSshd();
  try {
    const node = sshd.nodeWith();
    const dir = join(sshd.dir, "node/etc/kubernetes");
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(join(dir, "a.conf"), "old a\n");
    await Deno.writeTextFile(join(dir, "old.conf"), "old\n");
    await Deno.writeTextFile(join(dir, "not-a-dir"), "a file\n");
    const files = [
      { path: join(dir, "a.conf"), content: "new a\n", mode: 0o600 },
      { path: join(dir, "old.conf"), content: undefined },
      { path: join(dir, "pki/b.crt"), content: "b\n" },
    ];
    const staged = await node.stageFiles(files);
    assert.equal(node.roundTrips(), 1);
    assert.equal(await Deno.readTextFile(join(dir, "a.conf")), "old a\n", "not yet in place");
    assert.equal(await Deno.readTextFile(join(dir, "old.conf")), "old\n", "not yet removed");
    assert.equal(await Deno.readTextFile(join(dir, ".a.conf.ca-rotator.staged")), "new a\n");
    await staged.commit();
    assert.equal(node.roundTrips(), 2);
    assert.equal(await Deno.readTextFile(join(dir, "a.conf")), "new a\n");
    assert.equal((await Deno.stat(join(dir, "a.conf"))).mode! & 0o777, 0o600);
    assert.equal(await Deno.readTextFile(join(dir, "pki/b.crt")), "b\n");
    await assert.rejects(Deno.stat(join(dir, "old.conf")), "removed");

    const error = await node.stageFiles([
      { path: join(dir, "a.conf"), content: "third\n" },
      { path: join(dir, "not-a-dir/c.conf"), content: "c\n" },
    ]).then(() => undefined, (e) => e);
    assert.ok(error instanceof SshError);
    assert.match(error.message, /cannot write .*not-a-dir\/c\.conf over ssh: /);
    assert.equal(await Deno.readTextFile(join(dir, "a.conf")), "new a\n");
    const dotFiles = [...Deno.readDirSync(dir)].map((entry) => entry.name)
      .filter((name) => name.startsWith("."));
    assert.deepEqual(dotFiles, [], "no staged file left");

    const discarded = await node.stageFiles([{ path: join(dir, "a.conf"), content: "fourth\n" }]);
    await discarded.discard();
    assert.equal(await Deno.readTextFile(join(dir, "a.conf")), "new a\n");
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((entry) => entry.name).filter((name) => name.startsWith(".")),
      [],
      "discarded",
    );
  } finally {
    await sshd.stop();
  }
});
