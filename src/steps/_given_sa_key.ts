/**
 * A service-account signing key the plan gives as a file (`distribute-sa-key`'s `key`), read and
 * checked: before the run changes anything, and again when the step stages it.
 * @module
 */
import { dirname, resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { locate } from "../plan/locate.ts";
import { InputError } from "../plan/input_error.ts";
import { type ServiceAccountKeyPair, serviceAccountKeyPair } from "../pki/mod.ts";

/**
 * The given key of a `distribute-sa-key` step, checked.
 * @throws {InputError} `Cannot use step "<id>" key "<path>": <why>` (never the key).
 */
export async function readGivenServiceAccountKey(
  planDir: string,
  step: { readonly id: string; readonly key?: string },
): Promise<ServiceAccountKeyPair> {
  const path = resolve(planDir, step.key ?? "");
  const refuse = (why: string) =>
    new InputError(`Cannot use step "${step.id}" key "${path}": ${why}`);
  let pem: string;
  try {
    pem = await Deno.readTextFile(path);
  } catch (error) {
    throw refuse((error as Error).message);
  }
  try {
    return await serviceAccountKeyPair(pem, path);
  } catch (error) {
    throw refuse((error as Error).message);
  }
}

/**
 * Checks the given key of every `distribute-sa-key` step of the plan at `planPath` (see above),
 * before the run changes anything.
 * @throws {InputError} `Cannot use plan "<file>": line N, steps[i].key: <why>`.
 */
export async function checkGivenServiceAccountKeys(
  steps: readonly { readonly id: string; readonly kind: string; readonly key?: string }[],
  planPath: string,
): Promise<void> {
  for (const [index, step] of steps.entries()) {
    if (step.kind !== "distribute-sa-key" || step.key === undefined) continue;
    try {
      await readGivenServiceAccountKey(dirname(planPath), step);
    } catch (error) {
      const lineCounter = new LineCounter();
      const doc = parseDocument(await Deno.readTextFile(planPath), { lineCounter });
      const { line } = locate(doc, lineCounter, ["steps", index, "key"]);
      throw new InputError(
        `Cannot use plan "${planPath}": line ${line}, steps[${index}].key: ` +
          (error as Error).message,
      );
    }
  }
}
