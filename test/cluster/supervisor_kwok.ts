/**
 * The supervisor's kwok: its RBAC objects, a ServiceAccount token in its own kubeconfig, and
 * the kwok process itself.
 * @module
 */
import { join } from "node:path";
import { KWOK_RBAC_MANIFEST, kwokArgs, renderKwokKubeconfig } from "./kwok.ts";
import { endpointUrl } from "./layout.ts";
import type { Supervision } from "./supervision.ts";

/**
 * Applies kwok's RBAC objects, writes kwok.kubeconfig (a token of the kwok-controller
 * ServiceAccount, valid for a year) into the state directory and starts kwok.
 */
export async function startKwok(s: Supervision): Promise<void> {
  await s.kubectl(["apply", "-f", "-"], KWOK_RBAC_MANIFEST);
  const token = (await s.kubectl([
    "create",
    "token",
    "kwok-controller",
    "-n",
    "kube-system",
    "--duration=8760h",
  ]))
    .trim();
  const kubeconfig = join(s.stateDir, "kwok.kubeconfig");
  await Deno.writeTextFile(kubeconfig, renderKwokKubeconfig(endpointUrl(s.layout), token), {
    mode: 0o600,
  });
  s.spawn("kwok", {
    argv: kwokArgs({ binDir: s.binDir, kubeconfig, serverAddress: s.layout.kwokAddress }),
    logFile: join(s.stateDir, "kwok.log"),
  });
}
