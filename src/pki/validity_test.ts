import assert from "node:assert/strict";
import { BACKDATE_MS, resolveValidity } from "./validity.ts";

const DAY = 24 * 60 * 60 * 1000;
const now = new Date("2026-01-01T00:00:00Z");

Deno.test("resolveValidity: default days from now, backdated start", () => {
  const v = resolveValidity({ now }, 365);
  assert.equal(v.notBefore.getTime(), now.getTime() - BACKDATE_MS);
  assert.equal(v.notAfter.getTime(), now.getTime() + 365 * DAY);
});

Deno.test("resolveValidity: explicit days and dates win", () => {
  assert.equal(
    resolveValidity({ now, validityDays: 7 }, 365).notAfter.getTime(),
    now.getTime() + 7 * DAY,
  );
  const notAfter = new Date("2027-06-01T00:00:00Z");
  assert.equal(resolveValidity({ now, notAfter, validityDays: 7 }, 365).notAfter, notAfter);
});

Deno.test("resolveValidity: refuses empty windows and bad days", () => {
  assert.throws(() => resolveValidity({ now, validityDays: 0 }, 365), /positive number, got 0/);
  assert.throws(
    () => resolveValidity({ now, notAfter: new Date("2025-01-01T00:00:00Z") }, 365),
    /notAfter 2025-01-01T00:00:00\.000Z is not after notBefore/,
  );
});
