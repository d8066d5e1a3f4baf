import assert from "node:assert/strict";
import { join } from "node:path";
import { shellQuote, SshNode } from "./ssh.ts";

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
  const node = new SshNode({
    name: "ssh-node",
    address: "127.0.0.1",
    port,
    user: Deno.env.get("USER") ?? "root",
    identityFile: join(dir, "client_key"),
    backupDir: join(dir, "backup"),
    sshOptions: ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "LogLevel=ERROR"],
  });
  return {
    dir,
    node,
    async stop() {
      sshd.kill("SIGTERM");
      await sshd.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("shellQuote quotes what a shell would split or expand", () => {
  assert.equal(shellQuote("/etc/kubernetes/pki/ca.crt"), "/etc/kubernetes/pki/ca.crt");
  assert.equal(shellQuote("it's $HOME"), `'it'\\''s $HOME'`);
});

Deno.test({
  name: "the ssh driver reads, writes (0600, backed up), removes and runs through a real sshd",
  ignore: !(await Deno.stat(SSHD).then(() => true, () => false)),
}, async () => {
  const sshd = await startSshd();
  try {
    const { node, dir } = sshd;
    const path = join(dir, "node/etc/kubernetes/pki/ca.key");
    assert.equal(await node.readFile(path), undefined, "a missing file reads as undefined");

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
