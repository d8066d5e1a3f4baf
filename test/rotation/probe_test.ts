import assert from "node:assert/strict";
import { isTrustFailure } from "./probe.ts";

Deno.test("the probe counts certificate failures as trust failures, resets as availability", () => {
  assert.ok(
    isTrustFailure(
      60,
      "curl: (60) SSL certificate problem: unable to get local issuer certificate",
    ),
  );
  assert.ok(
    isTrustFailure(
      35,
      "curl: (35) OpenSSL/3.0.17: error:0A000418:SSL routines::tlsv1 alert unknown ca",
    ),
  );
  assert.ok(
    isTrustFailure(35, "curl: (35) error:0A000412:SSL routines::sslv3 alert bad certificate"),
  );
  assert.ok(
    !isTrustFailure(
      35,
      "curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to 198.18.1.100:6443",
    ),
  );
  assert.ok(!isTrustFailure(35, "curl: (35) Recv failure: Connection reset by peer"));
  assert.ok(!isTrustFailure(7, "curl: (7) Failed to connect to 198.18.1.100 port 6443"));
  assert.ok(!isTrustFailure(0, ""));
});
