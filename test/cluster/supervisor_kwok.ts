/**
 * The supervisor's kwok: its RBAC objects, a ServiceAccount token in a file its kubeconfig names,
 * and the kwok process itself.
 * @module
 */
import { join } from "node:path";
import { KWOK_RBAC_MANIFEST, kwokArgs, renderKwokKubeconfig } from "./kwok.ts";
import { endpointUrl } from "./layout.ts";
import type { Supervision } from "./supervision.ts";

/**
 * Writes a new token of kwok's ServiceAccount (valid for a year, signed by the key the API
 * servers sign with now) into kwok.token in `stateDir`, which client-go reads again every minute;
 * returns the token.
 */
export async function writeKwokToken(
  kubectl: (args: string[]) => Promise<string>,
  stateDir: string,
): Promise<string> {
  const args = ["create", "token", "kwok-controller", "-n", "kube-system", "--duration=8760h"];
  const token = (await kubectl(args)).trim();
  await Deno.writeTextFile(join(stateDir, "kwok.token"), token, { mode: 0o600 });
  return token;
}

/**
 * Applies kwok's RBAC objects, writes kwok.token (a token of the kwok-controller ServiceAccount,
 * valid for a year) and kwok.kubeconfig (naming that file) into the state directory and starts
 * kwok. A token file, not a token: after a rotation of the service-account key an operator gives
 * kwok a token of the new key by rewriting the file, with no restart.
 */
export async function startKwok(s: Supervision): Promise<void> {
  await s.kubectl(["apply", "-f", "-"], KWOK_RBAC_MANIFEST);
  await writeKwokToken((args) => s.kubectl(args), s.stateDir);
  const tokenFile = join(s.stateDir, "kwok.token");
  const kubeconfig = join(s.stateDir, "kwok.kubeconfig");
  await Deno.writeTextFile(kubeconfig, renderKwokKubeconfig(endpointUrl(s.layout), tokenFile), {
    mode: 0o600,
  });
  s.spawn("kwok", {
    argv: kwokArgs({ binDir: s.binDir, kubeconfig, serverAddress: s.layout.kwokAddress }),
    logFile: join(s.stateDir, "kwok.log"),
  });
}
