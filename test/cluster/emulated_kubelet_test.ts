import assert from "node:assert/strict";
import { join } from "node:path";
import {
  EmulatedKubelet,
  type KubeletStatus,
  microTime,
  storeClientCertificate,
} from "./emulated_kubelet.ts";

Deno.test("microTime has six fractional digits", () => {
  assert.equal(microTime(new Date("2030-01-02T03:04:05.678Z")), "2030-01-02T03:04:05.678000Z");
});

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

Deno.test("only certificate errors count as trust failures, not the URL of a refused request", async () => {
  const { TRUST_FAILURE } = await import("./emulated_kubelet.ts");
  const refusedCsr =
    "POST /apis/certificates.k8s.io/v1/certificatesigningrequests: fetch failed: " +
    "error sending request for url (https://198.18.200.3:6443/apis/certificates.k8s.io/v1/" +
    "certificatesigningrequests): client error (Connect): tcp connect error: Connection refused";
  if (TRUST_FAILURE.test(refusedCsr)) throw new Error("a refused connection counted as trust");
  if (TRUST_FAILURE.test("client error (Connect): tls handshake eof")) {
    throw new Error("a handshake cut short counted as trust");
  }
  for (
    const trust of [
      "client error (Connect): invalid peer certificate: UnknownIssuer",
      "client error (Connect): invalid peer certificate: BadSignature",
      "client error (Connect): received fatal alert: BadCertificate",
    ]
  ) if (!TRUST_FAILURE.test(trust)) throw new Error(`not counted as trust: ${trust}`);
});
