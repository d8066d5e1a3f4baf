/**
 * Every test node reachable over ssh (`cluster up --ssh`): an OpenSSH server per node (control
 * plane and workers) listening on the node's own address in the cluster's network namespace, in
 * a mount namespace of its own where the node root's `/etc/kubernetes`, `/var/lib/kubelet`,
 * `/var/lib/ca-rotator` and `/var/run/kubelet` are bind-mounted at their real paths, so a remote
 * command sees exactly the files a real node has. The host's own files are never edited: inside
 * the node's mount namespace `/etc`, `/var/lib` and `/run` are overlays (on a tmpfs of the
 * namespace's own) over the host's, where the login user (in passwd/group/shadow), its sudoers
 * entry and the mount points are added; `/usr/local/sbin` is a tmpfs holding two shims:
 * `systemctl` (`systemctl restart kubelet` restarts this node's kubelet: it touches the restart
 * trigger `/var/run/kubelet/restart`) and `curl` (127.0.0.1 and localhost stand for the node's
 * address, which its components bind, as a node's own network namespace would).
 *
 * Files, under `<stateDir>/ssh/`: `id_ed25519` (the login key), `known_hosts` (every node's
 * address pinned to its host key), `nodes/<node>/{ssh_host_ed25519_key, sshd_config, sshd.log}`.
 * @module
 */
import { join } from "node:path";
import type { ClusterLayout } from "./layout.ts";
import { runCommand } from "./managed_process.ts";

/** The login user on every test node (sudo without a password). */
export const SSH_USER = "ops";
/** Its uid and gid, only inside the nodes' mount namespaces. */
const SSH_UID = 61000;
/** The port sshd listens on, on each node's address. */
export const SSH_PORT = 22;
const SSHD = "/usr/sbin/sshd";

/** Where the ssh files of a cluster live. */
export interface SshPaths {
  /** `<stateDir>/ssh`. */
  readonly dir: string;
  /** The login key (private; `.pub` beside it). */
  readonly identityFile: string;
  /** Every node's address with its host key. */
  readonly knownHostsFile: string;
}

/** The ssh files of the cluster in `stateDir`. */
export function sshPaths(stateDir: string): SshPaths {
  const dir = join(stateDir, "ssh");
  return {
    dir,
    identityFile: join(dir, "id_ed25519"),
    knownHostsFile: join(dir, "known_hosts"),
  };
}

/** A node reachable over ssh. */
export interface SshNodeSpec {
  readonly name: string;
  readonly ip: string;
  readonly root: string;
}

/** Every node of the layout (control plane first), with its address. */
export function sshNodes(layout: ClusterLayout): SshNodeSpec[] {
  return [
    ...layout.controlPlane,
    ...layout.workers.map((node) => ({ ...node, ip: node.ip })),
  ];
}

/** The directory of one node's sshd files. */
export function nodeSshDir(stateDir: string, node: string): string {
  return join(sshPaths(stateDir).dir, "nodes", node);
}

/** A node's host key (private; `.pub` beside it). */
export function hostKeyFile(stateDir: string, node: string): string {
  return join(nodeSshDir(stateDir, node), "ssh_host_ed25519_key");
}

async function keygen(file: string, comment: string): Promise<void> {
  await runCommand(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
}

/**
 * Makes the cluster's ssh files: the login key, a host key and an sshd_config per node, the
 * known_hosts that pins them, and the user's passwd/group/shadow lines, sudoers entry and the
 * shims that the node namespaces add.
 */
export async function prepareSsh(layout: ClusterLayout): Promise<SshPaths> {
  const stateDir = layout.options.stateDir;
  const paths = sshPaths(stateDir);
  await Deno.mkdir(paths.dir, { recursive: true, mode: 0o700 });
  await keygen(paths.identityFile, `${SSH_USER}@ca-rotator-test`);
  const knownHosts: string[] = [];
  for (const node of sshNodes(layout)) {
    const dir = nodeSshDir(stateDir, node.name);
    await Deno.mkdir(join(dir, "ns"), { recursive: true });
    await keygen(hostKeyFile(stateDir, node.name), `host ${node.name}`);
    const publicKey = (await Deno.readTextFile(`${hostKeyFile(stateDir, node.name)}.pub`)).trim()
      .split(" ").slice(0, 2).join(" ");
    knownHosts.push(`${node.ip} ${publicKey}`);
    await Deno.writeTextFile(join(dir, "sshd_config"), sshdConfig(stateDir, node));
    await Deno.writeTextFile(join(dir, "curl"), curlShim(node.ip), { mode: 0o755 });
  }
  await Deno.writeTextFile(paths.knownHostsFile, knownHosts.join("\n") + "\n");
  await Deno.copyFile(`${paths.identityFile}.pub`, join(paths.dir, "authorized_keys"));
  const files: Record<string, string> = {
    "passwd": `${SSH_USER}:x:${SSH_UID}:${SSH_UID}:ca-rotator test operator:/:/bin/sh\n`,
    "group": `${SSH_USER}:x:${SSH_UID}:\n`,
    "shadow": `${SSH_USER}:*:20000:0:99999:7:::\n`,
    "sudoers": `${SSH_USER} ALL=(ALL:ALL) NOPASSWD: ALL\n`,
    "systemctl": SYSTEMCTL_SHIM,
    "enter-node.sh": ENTER_NODE_SCRIPT,
  };
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(join(paths.dir, name), text, { mode: 0o755 });
  }
  return paths;
}

/** The login key's public half, inside each node's mount namespace. */
const AUTHORIZED_KEYS = "/etc/ssh/ca-rotator-authorized-keys";

function sshdConfig(stateDir: string, node: SshNodeSpec): string {
  return [
    `# ca-rotator test node ${node.name}: sshd in the node's mount namespace (see node_ssh.ts)`,
    `ListenAddress ${node.ip}:${SSH_PORT}`,
    `HostKey ${hostKeyFile(stateDir, node.name)}`,
    // Copied into the namespace's /etc: sshd reads it as the user, who cannot enter the state
    // directory.
    `AuthorizedKeysFile ${AUTHORIZED_KEYS}`,
    "PidFile none",
    "UsePAM no",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin no",
    `AllowUsers ${SSH_USER}`,
    "MaxSessions 64",
    "MaxStartups 64:30:128",
    "SetEnv PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "",
  ].join("\n");
}

/** `systemctl` on a test node: `restart kubelet` touches the restart trigger of its kubelet. */
const SYSTEMCTL_SHIM = `#!/bin/sh
# ca-rotator test node: the kubelet is not a systemd unit here; restarting it touches the
# trigger its kubelet watches.
case "$1 $2" in
  "restart kubelet" | "restart kubelet.service")
    exec touch /var/run/kubelet/restart ;;
  "is-active kubelet" | "is-active kubelet.service")
    echo active ;;
  *)
    echo "systemctl (ca-rotator test node): only 'restart kubelet' is supported, not: $*" >&2
    exit 1 ;;
esac
`;

/** `curl` on a test node: 127.0.0.1 and localhost are the node's own address. */
function curlShim(ip: string): string {
  return `#!/bin/sh
# ca-rotator test node: its components bind the node's address (${ip}), which a network
# namespace of the node's own would make its 127.0.0.1.
n=$#
for a do
  case $a in
    http://127.0.0.1* | https://127.0.0.1* | http://localhost* | https://localhost*)
      a=$(printf '%s' "$a" | sed -E 's#^(https?://)(127\\.0\\.0\\.1|localhost)([:/]|$)#\\1${ip}\\3#') ;;
  esac
  set -- "$@" "$a"
done
shift "$n"
exec /usr/bin/curl "$@"
`;
}

/**
 * Run (as root, in the cluster's network namespace) by `unshare --mount --propagation private`:
 * builds the node's mount namespace and execs sshd. Arguments: node root, the node's ssh
 * directory, the cluster's ssh directory.
 */
const ENTER_NODE_SCRIPT = `#!/bin/sh
set -eu
root=$1 node=$2 ssh=$3
ns=$node/ns
mount -t tmpfs -o mode=0755,size=32m ca-rotator-node "$ns"
for layer in etc varlib run; do mkdir -p "$ns/$layer/upper" "$ns/$layer/work"; done
mount -t overlay ca-rotator-etc -o "lowerdir=/etc,upperdir=$ns/etc/upper,workdir=$ns/etc/work" /etc
mount -t overlay ca-rotator-varlib -o "lowerdir=/var/lib,upperdir=$ns/varlib/upper,workdir=$ns/varlib/work" /var/lib
mount -t overlay ca-rotator-run -o "lowerdir=/run,upperdir=$ns/run/upper,workdir=$ns/run/work" /run
mount -t tmpfs -o mode=0755,size=1m ca-rotator-shims /usr/local/sbin
mkdir -p "$root/etc/kubernetes" "$root/var/lib/kubelet" "$root/var/lib/ca-rotator" "$root/var/run/kubelet"
mkdir -p /etc/kubernetes /var/lib/kubelet /var/lib/ca-rotator /run/kubelet /run/sshd
chmod 0755 /run/sshd
mount --bind "$root/etc/kubernetes" /etc/kubernetes
mount --bind "$root/var/lib/kubelet" /var/lib/kubelet
mount --bind "$root/var/lib/ca-rotator" /var/lib/ca-rotator
mount --bind "$root/var/run/kubelet" /run/kubelet
cat "$ssh/passwd" >>/etc/passwd
cat "$ssh/group" >>/etc/group
cat "$ssh/shadow" >>/etc/shadow
mkdir -p /etc/sudoers.d /etc/ssh
install -m 0644 "$ssh/authorized_keys" ${AUTHORIZED_KEYS}
install -m 0440 "$ssh/sudoers" /etc/sudoers.d/ca-rotator-ops
install -m 0755 "$ssh/systemctl" /usr/local/sbin/systemctl
install -m 0755 "$node/curl" /usr/local/sbin/curl
exec ${SSHD} -D -e -f "$node/sshd_config"
`;

/** The command line that starts a node's sshd in a mount namespace of its own. */
export function sshdArgv(stateDir: string, node: SshNodeSpec): string[] {
  const paths = sshPaths(stateDir);
  return [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "/bin/sh",
    join(paths.dir, "enter-node.sh"),
    node.root,
    nodeSshDir(stateDir, node.name),
    paths.dir,
  ];
}

/** Whether sshd is installed (Debian's openssh-server). */
export async function sshdInstalled(): Promise<boolean> {
  return await Deno.stat(SSHD).then(() => true, () => false);
}
