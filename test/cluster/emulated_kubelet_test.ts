import assert from "node:assert/strict";
import { join } from "node:path";
import { EmulatedKubelet } from "./emulated_kubelet.ts";
import type { KubeletStatus } from "./kubelet_status.ts";

Deno.test({
  name: "EmulatedKubelet does not start when its clientCAFile is missing, and says why",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir();
    await Deno.mkdir(join(root, "var/lib/kubelet"), { recursive: true });
    await Deno.writeTextFile(
      join(root, "var/lib/kubelet/config.yaml"),
      "rotateCertificates: true\nauthentication:\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\n",
    );
    const kubelet = new EmulatedKubelet({
      nodeName: "n1",
      root,
      heartbeatSeconds: 60,
      log: () => {},
    });
    try {
      await kubelet.start();
      const status: KubeletStatus = JSON.parse(
        await Deno.readTextFile(join(root, "var/run/kubelet/status.json")),
      );
      assert.equal(status.running, false);
      assert.equal(status.requests, 0);
      assert.equal(status.clientCAFile, "/etc/kubernetes/pki/ca.crt");
      assert.match(
        status.lastError!,
        /kubelet not started: clientCAFile \/etc\/kubernetes\/pki\/ca.crt/,
      );
    } finally {
      await kubelet.stop();
      await Deno.remove(root, { recursive: true });
    }
  },
});
