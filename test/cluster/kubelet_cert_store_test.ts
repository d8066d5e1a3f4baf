import assert from "node:assert/strict";
import { join } from "node:path";
import { storeClientCertificate } from "./kubelet_cert_store.ts";

Deno.test("storeClientCertificate writes a 0600 pem and points kubelet-client-current.pem at it", async () => {
  const root = await Deno.makeTempDir();
  try {
    const now = new Date("2030-01-02T03:04:05Z");
    const first = await storeClientCertificate(root, "CERT1\n", "KEY1\n", now);
    const second = await storeClientCertificate(root, "CERT2\n", "KEY2\n", now);
    assert.equal(first, "/var/lib/kubelet/pki/kubelet-client-2030-01-02-03-04-05.pem");
    assert.equal(second, "/var/lib/kubelet/pki/kubelet-client-2030-01-02-03-04-05-1.pem");
    const pki = join(root, "var/lib/kubelet/pki");
    assert.equal(
      await Deno.readLink(join(pki, "kubelet-client-current.pem")),
      "kubelet-client-2030-01-02-03-04-05-1.pem",
    );
    assert.equal(await Deno.readTextFile(join(pki, "kubelet-client-current.pem")), "CERT2\nKEY2\n");
    assert.equal((await Deno.stat(join(root, second))).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
