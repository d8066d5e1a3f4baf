/**
 * Runs `kubeadm join`'s discovery — kubeadm's own code (cmd/kubeadm/app/discovery, built by
 * test/cluster/build.sh as `join-discovery`) — against a test cluster's API server with a
 * bootstrap token and pinned CA hashes, as a node joining now would. It reads cluster-info only.
 * @module
 */
import { join } from "node:path";
import type { TestCluster } from "../cluster/harness.ts";

/** What kubeadm's discovery returned. */
export interface Discovery {
  readonly ok: boolean;
  /** The API server of the validated kubeconfig. */
  readonly server?: string;
  /** The discovery hashes of the CA data the joining node would trust. */
  readonly caHashes?: string[];
  /** kubeadm's error, when it failed. */
  readonly error?: string;
  readonly seconds: number;
}

/** A bootstrap token `<id>.<secret>` created for the test. */
export interface TestToken {
  readonly id: string;
  readonly secret: string;
}

/** Creates a bootstrap token that may sign cluster-info and authenticate, as `kubeadm token create`. */
export async function createBootstrapToken(cluster: TestCluster, token: TestToken): Promise<void> {
  await cluster.kubectl(["apply", "-f", "-"], {
    stdin: JSON.stringify({
      apiVersion: "v1",
      kind: "Secret",
      type: "bootstrap.kubernetes.io/token",
      metadata: { name: `bootstrap-token-${token.id}`, namespace: "kube-system" },
      stringData: {
        "token-id": token.id,
        "token-secret": token.secret,
        "usage-bootstrap-signing": "true",
        "usage-bootstrap-authentication": "true",
        "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token",
      },
    }),
  });
}

/**
 * kubeadm's token discovery against `endpoint` (host:port) pinned to `hashes`, giving up after
 * `timeoutSeconds` (kubeadm retries a failed fetch every 5 s until then).
 */
export async function discover(
  cluster: TestCluster,
  endpoint: string,
  token: TestToken,
  hashes: readonly string[],
  timeoutSeconds = 30,
): Promise<Discovery> {
  const output = await new Deno.Command(join(cluster.binDir, "join-discovery"), {
    args: [
      "--endpoint",
      endpoint,
      "--token",
      `${token.id}.${token.secret}`,
      "--timeout",
      `${timeoutSeconds}s`,
      ...hashes.flatMap((hash) => ["--ca-cert-hash", hash]),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout).trim();
  const last = stdout.split("\n").at(-1) ?? "";
  try {
    return JSON.parse(last) as Discovery;
  } catch {
    const stderr = new TextDecoder().decode(output.stderr);
    throw new Error(`join-discovery exited ${output.code}: ${stdout}\n${stderr.slice(-2000)}`);
  }
}
