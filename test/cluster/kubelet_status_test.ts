import assert from "node:assert/strict";
import { join } from "node:path";
import { type KubeletStatus, KubeletStatusReport } from "./kubelet_status.ts";

Deno.test("KubeletStatusReport counts failures by kind, logs each new error once and writes status.json", async () => {
  const root = await Deno.makeTempDir();
  try {
    const lines: string[] = [];
    const report = new KubeletStatusReport({ nodeName: "n1", root, log: (l) => lines.push(l) });
    report.requested();
    report.failed("tls", "GET /api: invalid peer certificate: UnknownIssuer");
    report.requested();
    report.failed("tls", "GET /api: invalid peer certificate: UnknownIssuer");
    report.recordError("http", "kubelet not started", false);
    assert.equal(report.status.requests, 2);
    assert.equal(report.status.failures, 2);
    assert.equal(report.status.consecutiveFailures, 2);
    assert.equal(report.status.failuresByKind.tls, 2);
    assert.equal(report.status.failuresByKind.http, 0);
    assert.equal(report.status.lastError, "kubelet not started");
    assert.deepEqual(lines, [
      "error: GET /api: invalid peer certificate: UnknownIssuer",
      "error: kubelet not started",
    ]);
    report.succeeded();
    assert.equal(report.status.consecutiveFailures, 0);
    assert.notEqual(report.status.lastSuccessAt, null);

    await Deno.mkdir(join(root, "var/run/kubelet"), { recursive: true });
    await report.write();
    const written: KubeletStatus = JSON.parse(
      await Deno.readTextFile(join(root, "var/run/kubelet/status.json")),
    );
    assert.deepEqual(written, report.status);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
