/**
 * The supervisor's kwok: its RBAC objects, a ServiceAccount token in a file its kubeconfig names,
 * and the kwok process itself.
 * @module
 */
import { join } from "node:path";
import { KWOK_RBAC_MANIFEST, kwokArgs, renderKwokKubeconfig } from "./kwok.ts";
import { endpointUrl } from "./layout.ts";
import type { Supervision } from "./supervision.ts";

/** kwok's token file in a cluster's state directory (client-go reads it again every minute). */
export const KWOK_TOKEN_FILE = "kwok.token";

/** `kubectl create token` arguments for kwok's ServiceAccount: a token valid for a year. */
export const KWOK_TOKEN_ARGS = [
  "create",
  "token",
  "kwok-controller",
  "-n",
  "kube-system",
  "--duration=8760h",
];

/**
 * Applies kwok's RBAC objects, writes kwok.token (a token of the kwok-controller ServiceAccount,
 * valid for a year) and kwok.kubeconfig (naming that file) into the state directory and starts
 * kwok. A token file, not a token: after a rotation of the service-account key an operator gives
 * kwok a token of the new key by rewriting the file, with no restart.
 */
export async function startKwok(s: Supervision): Promise<void> {
  await s.kubectl(["apply", "-f", "-"], KWOK_RBAC_MANIFEST);
  const token = (await s.kubectl(KWOK_TOKEN_ARGS)).trim();
  const tokenFile = join(s.stateDir, KWOK_TOKEN_FILE);
  await Deno.writeTextFile(tokenFile, token, { mode: 0o600 });
  const kubeconfig = join(s.stateDir, "kwok.kubeconfig");
  await Deno.writeTextFile(kubeconfig, renderKwokKubeconfig(endpointUrl(s.layout), tokenFile), {
    mode: 0o600,
  });
  s.spawn("kwok", {
    argv: kwokArgs({ binDir: s.binDir, kubeconfig, serverAddress: s.layout.kwokAddress }),
    logFile: join(s.stateDir, "kwok.log"),
  });
}
