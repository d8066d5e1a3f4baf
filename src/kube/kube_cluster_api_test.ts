import assert from "node:assert/strict";
import { failedUnsent } from "./kube_cluster_api.ts";

Deno.test("failedUnsent: only errors from before the request reached the server", () => {
  const tls = new TypeError("fetch failed", {
    cause: new Error(
      "Client network socket disconnected before secure TLS connection was established",
    ),
  });
  const refused = new TypeError("fetch failed", {
    cause: Object.assign(new Error("connect ECONNREFUSED 198.18.1.100:6443"), {
      code: "ECONNREFUSED",
    }),
  });
  const reset = new TypeError("fetch failed", { cause: new Error("read ECONNRESET") });
  const conflict = Object.assign(new Error("HTTP-Code: 409"), { code: 409 });
  assert.equal(failedUnsent(tls), true);
  assert.equal(failedUnsent(refused), true);
  assert.equal(failedUnsent(reset), false, "a reset may come after the server acted");
  assert.equal(failedUnsent(conflict), false);
});
