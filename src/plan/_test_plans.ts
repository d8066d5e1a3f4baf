/**
 * Helpers for the plan tests: paths of the test data and shipped plans, relative to the
 * working directory as a user would type them.
 * @module
 */
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

/** A file under `src/plan/testdata/`, as a path relative to the working directory. */
export function testdata(name: string): string {
  return relative(Deno.cwd(), fileURLToPath(new URL(`./testdata/${name}`, import.meta.url)));
}

/** A shipped plan under `plans/`, as a path relative to the working directory. */
export function shippedPlan(name: string): string {
  return relative(Deno.cwd(), fileURLToPath(new URL(`../../plans/${name}`, import.meta.url)));
}

/** The text of the minimal sound plan, to derive variants from. */
export function minimalPlanText(): string {
  return Deno.readTextFileSync(testdata("minimal.yaml"));
}

/** `text` with `from` replaced by `to`; fails when `from` is absent, so a variant is never a no-op. */
export function edit(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`edit: ${JSON.stringify(from)} not found`);
  return text.replace(from, to);
}
