/**
 * The harm `reissue-leaves`' `restart` avoids, shown on a running cluster: an API server whose
 * kubelet client certificate file changes while it runs closes every connection to every kubelet
 * at its next kubelet handshake (client-go re-reads the file there and, seeing it changed, closes
 * all the connections of its dialer), cutting the `kubectl logs -f`, `exec` and node-proxy
 * requests they carry. Seen through the API server's established connections to kubelets (`ss`
 * in the cluster's network namespace, by its pid): a new kubelet connection with the file
 * unchanged leaves the others open; once the file is re-issued, the next one closes them all.
 * @module
 */
import { join } from "node:path";
import { eventually, type TestCluster } from "../cluster/harness.ts";
import { inNetns } from "../cluster/netns.ts";
import { loadKubeconfigCredentials } from "../cluster/kubeconfig_credentials.ts";
import { loadCa, parseCertificate, reissueLeaf } from "../../src/pki/mod.ts";

const PKI = "/etc/kubernetes/pki";

/** What the API server's kubelet connections did (each `local->peer`). */
export interface ConnectionReset {
  /** Before: the connections open after a node-proxy request to `kept`. */
  readonly before: string[];
  /** After a new kubelet connection, the file unchanged. */
  readonly afterNewConnection: string[];
  /** After the file was re-issued and one more new kubelet connection was made. */
  readonly afterReissue: string[];
  /** The node-proxy answers (status or error) of the three requests. */
  readonly answers: string[];
}

/** The API server's (by pid) established connections to port 10250, as `local->peer`. */
async function kubeletConnections(netns: string, pid: number): Promise<string[]> {
  const [command, ...args] = inNetns(netns, [
    "ss",
    "-tnpH",
    "state",
    "established",
    "dport",
    "=",
    ":10250",
  ]);
  const output = await new Deno.Command(command, { args, stdout: "piped" }).output();
  return new TextDecoder().decode(output.stdout).split("\n")
    .filter((line) => line.includes(`pid=${pid},`))
    .map((line) => {
      const [local, peer] = line.trim().split(/\s+/).slice(2, 4);
      return `${local}->${peer}`;
    });
}

/** `GET /api/v1/nodes/<node>/proxy/healthz` on one API server: its status, or the error. */
async function proxyGet(cluster: TestCluster, apiIp: string, node: string): Promise<string> {
  const admin = await loadKubeconfigCredentials(cluster.nodeRoots[0], "/etc/kubernetes/admin.conf");
  const client = Deno.createHttpClient({
    caCerts: admin.caPems,
    cert: admin.certPem,
    key: admin.keyPem,
  });
  try {
    const response = await fetch(`https://${apiIp}:6443/api/v1/nodes/${node}/proxy/healthz`, {
      client,
      signal: AbortSignal.timeout(10_000),
    });
    const body = await response.text();
    return response.status === 200 ? "200" : `${response.status} ${body.slice(0, 300)}`;
  } catch (error) {
    return String(error);
  } finally {
    client.close();
  }
}

/**
 * Restarts a test kubelet, which closes its connections, and waits until its port takes
 * connections again (directly, not through the API server, which would connect to it anew).
 */
async function restartKubelet(cluster: TestCluster, node: string, ip: string): Promise<void> {
  await Deno.writeTextFile(join(cluster.rootOf(node), "var/run/kubelet/restart"), `${Date.now()}`);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await eventually(`${node}: its kubelet to listen again`, async () => {
    try {
      (await Deno.connect({ hostname: ip, port: 10250 })).close();
      return true;
    } catch {
      return false;
    }
  }, 30_000);
}

/**
 * On the API server of the first control-plane node: a connection to `kept`, a new one to
 * `fresh` (each kubelet restarted first, so the API server must dial it), then its kubelet
 * client certificate re-issued in place (same key, same CA, a new serial) and a new connection
 * to `last`. Returns the connections seen after each.
 */
export async function kubeletConnectionReset(
  cluster: TestCluster,
  [kept, fresh, last]: readonly [string, string, string],
): Promise<ConnectionReset> {
  const netns = cluster.state.network?.netns;
  if (!netns) throw new Error("the cluster has no network namespace");
  const apiServer = cluster.nodes[0];
  const pid = (await cluster.componentStatus(apiServer.name, "kube-apiserver")).pid;
  if (pid === null) throw new Error(`${apiServer.name}: kube-apiserver is not running`);

  const ipOf = (name: string) =>
    [...cluster.nodes, ...cluster.workers].find((node) => node.name === name)!.ip;
  await restartKubelet(cluster, fresh, ipOf(fresh));
  await restartKubelet(cluster, last, ipOf(last));
  const answers = [await proxyGet(cluster, apiServer.ip, kept)];
  const before = await kubeletConnections(netns, pid);
  answers.push(await proxyGet(cluster, apiServer.ip, fresh));
  const afterNewConnection = await kubeletConnections(netns, pid);

  const root = cluster.rootOf(apiServer.name);
  const certPath = join(root, PKI, "apiserver-kubelet-client.crt");
  const ca = await loadCa(
    await Deno.readTextFile(join(root, PKI, "ca.crt")),
    await Deno.readTextFile(join(root, PKI, "ca.key")),
    "cluster CA",
  );
  const reissued = await reissueLeaf({
    cert: parseCertificate(await Deno.readTextFile(certPath)),
    keyPem: await Deno.readTextFile(join(root, PKI, "apiserver-kubelet-client.key")),
    ca,
    validityDays: 365,
    source: certPath,
  });
  // In place as a writer does it: a whole new file renamed over the old one.
  await Deno.writeTextFile(`${certPath}.new`, reissued.certPem);
  await Deno.rename(`${certPath}.new`, certPath);
  // client-go reads the files at most once a second (its cached copy may be that fresh).
  await new Promise((resolve) => setTimeout(resolve, 1500));
  answers.push(await proxyGet(cluster, apiServer.ip, last));
  await new Promise((resolve) => setTimeout(resolve, 500));
  const afterReissue = await kubeletConnections(netns, pid);
  return { before, afterNewConnection, afterReissue, answers };
}
