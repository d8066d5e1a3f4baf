/**
 * `deno task schema`: writes the plan's JSON Schema to schema/plan.schema.json;
 * `deno task schema --check` exits 1 if the checked-in file is stale.
 * @module
 */
import { fileURLToPath } from "node:url";
import { PLAN_JSON_SCHEMA_PATH } from "../src/plan/json_schema.ts";
import { planJsonSchemaText } from "../src/app/plan.ts";

const target = fileURLToPath(new URL(`../${PLAN_JSON_SCHEMA_PATH}`, import.meta.url));
const text = planJsonSchemaText();
if (Deno.args.includes("--check")) {
  const current = await Deno.readTextFile(target).catch(() => "");
  if (current !== text) {
    console.error(`${PLAN_JSON_SCHEMA_PATH} is stale: run \`deno task schema\` and commit it`);
    Deno.exit(1);
  }
  console.error(`${PLAN_JSON_SCHEMA_PATH} is up to date`);
} else {
  await Deno.writeTextFile(target, text);
  console.error(`wrote ${PLAN_JSON_SCHEMA_PATH}`);
}
