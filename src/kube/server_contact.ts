/**
 * The first contact with the API server, made once and not retried: an API server that does not
 * answer, or that the kubeconfig does not trust, is told at once and by name — not after the
 * back-off that rides out a restarting server during a rotation.
 * @module
 */
import { type KubeConfig, VersionApi } from "@kubernetes/client-node";
import { describeFiles, KubeConfigError, kubeconfigFiles } from "./kubeconfig_files.ts";
import type { KubeConfigOptions } from "./kubeconfig.ts";

/** How long the first request may take before the server counts as not answering. */
export const CONTACT_TIMEOUT_MS = 10_000;

/** TLS errors (Node's codes) that mean the kubeconfig's CA did not verify the server. */
const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** What a failed first contact says about the server: `untrusted`, or the reason it is out of reach. */
export function contactFailure(
  error: unknown,
): { untrusted: boolean; reason: string } | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    const code = String((cause as { code?: unknown }).code ?? "");
    if (UNTRUSTED.has(code) || /certificate signed by unknown authority/.test(cause.message)) {
      return { untrusted: true, reason: `${cause.message} (${code || "TLS"})` };
    }
    if (
      /^(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ETIMEDOUT)$/.test(
        code,
      )
    ) {
      return { untrusted: false, reason: cause.message };
    }
  }
  return undefined;
}

/**
 * Asks the server of `config` for its version, once.
 * @throws {KubeConfigError} when the kubeconfig does not trust the server's certificate (exit 2).
 * @throws {Error} naming the server when it cannot be reached or does not answer in time.
 */
export async function contactServer(
  config: KubeConfig,
  lookup: KubeConfigOptions = {},
): Promise<void> {
  const server = config.getCurrentCluster()?.server ?? "(no server)";
  const files = kubeconfigFiles(lookup);
  const where = `${describeFiles(files)}, context "${config.getCurrentContext()}"`;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`it did not answer within ${CONTACT_TIMEOUT_MS / 1000} s`)),
      CONTACT_TIMEOUT_MS,
    );
  });
  const notAnApiServer = (what: string) =>
    new Error(
      `The server ${server} (${where}) is not a Kubernetes API server: ${what} ` +
        "(is the kubeconfig's server the API server or its load balancer?)",
    );
  try {
    const version = await Promise.race([config.makeApiClient(VersionApi).getCode(), timeout]);
    if (typeof (version as { gitVersion?: unknown } | undefined)?.gitVersion !== "string") {
      throw notAnApiServer("its /version holds no gitVersion");
    }
  } catch (error) {
    if ((error as Error).message.startsWith(`The server ${server} `)) throw error;
    const status = (error as { code?: unknown }).code;
    if (status === 404 || error instanceof SyntaxError) {
      throw notAnApiServer(
        status === 404 ? "it answers /version with 404 Not Found" : "its /version is not JSON",
      );
    }
    const failure = contactFailure(error);
    if (failure?.untrusted) {
      throw new KubeConfigError(
        `The API server ${server} is not trusted by ${where}: ${failure.reason}; the ` +
          "kubeconfig's certificate-authority is not the CA that issued the server's certificate",
      );
    }
    if (failure || /did not answer/.test((error as Error).message)) {
      throw new Error(
        `Cannot reach the API server ${server} (${where}): ${
          failure?.reason ?? (error as Error).message
        }`,
      );
    }
    // Anything else (an HTTP error status, say) is for the requests that follow to report.
  } finally {
    clearTimeout(timer);
  }
}
