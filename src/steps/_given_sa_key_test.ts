import assert from "node:assert/strict";
import { join } from "node:path";
import { InputError } from "../plan/input_error.ts";
import { checkGivenServiceAccountKeys } from "./_given_sa_key.ts";

Deno.test("a given service-account key that is not a signing key is bad input at its plan line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const planPath = join(dir, "plan.yaml");
    await Deno.writeTextFile(
      planPath,
      "steps:\n  - id: other\n    kind: verify\n  - id: distribute-sa-key\n" +
        "    kind: distribute-sa-key\n    key: ./sa.key\n",
    );
    await Deno.writeTextFile(
      join(dir, "sa.key"),
      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    const steps = [
      { id: "other", kind: "verify" },
      { id: "distribute-sa-key", kind: "distribute-sa-key", key: "./sa.key" },
    ];
    await assert.rejects(
      () => checkGivenServiceAccountKeys(steps, planPath),
      (error: Error) =>
        error instanceof InputError &&
        error.message.startsWith(`Cannot use plan "${planPath}": line 6, steps[1].key: `) &&
        error.message.includes(join(dir, "sa.key")),
    );
    await Deno.remove(join(dir, "sa.key"));
    await assert.rejects(
      () => checkGivenServiceAccountKeys(steps, planPath),
      /line 6, steps\[1\]\.key: .*No such file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
