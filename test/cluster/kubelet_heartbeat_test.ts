import assert from "node:assert/strict";
import { microTime } from "./kubelet_heartbeat.ts";

Deno.test("microTime has six fractional digits", () => {
  assert.equal(microTime(new Date("2030-01-02T03:04:05.678Z")), "2030-01-02T03:04:05.678000Z");
});
