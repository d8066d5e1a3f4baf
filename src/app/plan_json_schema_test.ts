import assert from "node:assert/strict";
import { parse } from "yaml";
import { Ajv2020 } from "ajv/dist/2020.js";
import { fileURLToPath } from "node:url";
import { planJsonSchemaText } from "./plan.ts";
import { PLAN_JSON_SCHEMA_PATH } from "../plan/json_schema.ts";

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const schema = JSON.parse(planJsonSchemaText());
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
const shipped = async (name: string) => parse(await Deno.readTextFile(root(`plans/${name}`)));

Deno.test("schema/plan.schema.json is what `deno task schema` generates (not stale)", async () => {
  assert.deepEqual(await Deno.readTextFile(root(PLAN_JSON_SCHEMA_PATH)), planJsonSchemaText());
});

Deno.test("the JSON Schema accepts the shipped plans, ${VAR} references included", async () => {
  for (const name of ["kubeadm.yaml", "local-demo.yaml"]) {
    const valid = validate(await shipped(name));
    assert(valid, `${name}: ${JSON.stringify(validate.errors, null, 2)}`);
  }
});

Deno.test("the JSON Schema refuses what the loader refuses: misspelt field, unknown kind, bad type", async () => {
  const plan = await shipped("kubeadm.yaml");
  const cases: [string, (p: typeof plan) => void, string][] = [
    ["misspelt field", (p) => p.metadata.nmae = "x", "/metadata"],
    ["unknown step kind", (p) => p.steps[0].kind = "restart-everything", "/steps/0"],
    ["bad stopAfter", (p) => p.stopAfter = "later", "/stopAfter"],
    ["number as text", (p) => p.workloads.batchSize = "five", "/workloads/batchSize"],
  ];
  for (const [what, breakIt, where] of cases) {
    const broken = structuredClone(plan);
    breakIt(broken);
    assert(!validate(broken), `${what}: accepted`);
    assert(
      validate.errors!.some((error) => error.instancePath.startsWith(where)),
      `${what}: no error at ${where}: ${JSON.stringify(validate.errors)}`,
    );
  }
});
