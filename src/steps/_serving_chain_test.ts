import assert from "node:assert/strict";
import { generateCa, issueCertificate } from "../pki/mod.ts";
import {
  apiServerEndpoints,
  endpointUrl,
  parseEndpoint,
  probeServingChain,
} from "./_serving_chain.ts";

const manifest = (flags: string[]) =>
  `apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-apiserver
${flags.map((flag) => `    - ${flag}`).join("\n")}
    image: registry.k8s.io/kube-apiserver:v1.34.0
    name: kube-apiserver
`;

Deno.test("apiServerEndpoints: each node's advertise address and secure port, plus the LB", () => {
  const { endpoints, problems } = apiServerEndpoints({ loadBalancer: "https://k8s.example.com" }, [
    { node: "cp-1", text: manifest(["--advertise-address=198.18.1.1", "--secure-port=6443"]) },
    { node: "cp-2", text: manifest(["--advertise-address=198.18.1.2"]) },
    { node: "cp-3", text: manifest(["--advertise-address=fd00::3", "--secure-port=8443"]) },
    { node: "cp-4", text: manifest(["--secure-port=6443"]) },
    { node: "cp-5", text: undefined },
  ]);
  assert.deepEqual(endpoints, [
    { url: "https://198.18.1.1:6443", host: "198.18.1.1", port: 6443, source: "cp-1" },
    { url: "https://198.18.1.2:6443", host: "198.18.1.2", port: 6443, source: "cp-2" },
    { url: "https://[fd00::3]:8443", host: "fd00::3", port: 8443, source: "cp-3" },
    {
      url: "https://k8s.example.com:443",
      host: "k8s.example.com",
      port: 443,
      source: "load balancer",
    },
  ]);
  assert.deepEqual(problems, [
    "cp-4: kube-apiserver has no --advertise-address",
    "cp-5: no kube-apiserver manifest",
  ]);
});

Deno.test("apiServerEndpoints: the plan's endpoints replace the manifests; duplicates once", () => {
  const { endpoints, problems } = apiServerEndpoints({
    endpoints: ["https://10.0.0.11:6443", "https://[fd00::1]:6443"],
    loadBalancer: "https://10.0.0.11:6443",
  }, [{ node: "cp-1", text: manifest(["--advertise-address=198.18.1.1"]) }]);
  assert.deepEqual(endpoints.map((endpoint) => [endpoint.host, endpoint.port, endpoint.source]), [
    ["10.0.0.11", 6443, "plan"],
    ["fd00::1", 6443, "plan"],
  ]);
  assert.deepEqual(problems, []);
});

Deno.test("parseEndpoint and endpointUrl", () => {
  assert.deepEqual(parseEndpoint("https://[::1]:6443/", "plan"), {
    url: "https://[::1]:6443",
    host: "::1",
    port: 6443,
    source: "plan",
  });
  assert.throws(() => parseEndpoint("http://a:1", "plan"), /not an https:\/\/ URL/);
  assert.equal(endpointUrl("cp-1", 6443), "https://cp-1:6443");
});

Deno.test("probeServingChain: only the CA that issued the served chain verifies it", async () => {
  // Old and new CA share the name "kubernetes", as in a real rotation.
  const oldCa = await generateCa({ keyType: "ecdsa-p256" });
  const newCa = await generateCa({ keyType: "ecdsa-p256" });
  const leaf = await issueCertificate({
    ca: oldCa,
    commonName: "kube-apiserver",
    dnsNames: ["kubernetes"],
    ipAddresses: ["127.0.0.1"],
    extKeyUsages: ["serverAuth"],
  });
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: leaf.certPem,
    key: leaf.keyPem!,
  });
  const served = (async () => {
    for await (const conn of listener) {
      await conn.handshake().catch(() => {});
      conn.close();
    }
  })();
  try {
    const port = (listener.addr as Deno.NetAddr).port;
    const ip = { url: `https://127.0.0.1:${port}`, host: "127.0.0.1", port, source: "test" };
    assert.deepEqual(await probeServingChain(ip, oldCa.certPem), { ok: true });
    const wrong = await probeServingChain(ip, newCa.certPem);
    assert.equal(wrong.ok, false);
    assert.match(wrong.error!, /invalid peer certificate/);
    // A name the certificate does not carry: the chain still verifies; the mismatch is told.
    const byName = { ...ip, host: "localhost", url: `https://localhost:${port}` };
    const mismatch = await probeServingChain(byName, oldCa.certPem);
    assert.equal(mismatch.ok, true);
    assert.equal(mismatch.nameMismatch, true);
    assert.match(mismatch.error!, /not valid for name/);
    assert.equal((await probeServingChain(byName, newCa.certPem)).ok, false);
  } finally {
    listener.close();
    await served;
  }
});

Deno.test("probeServingChain: nothing listening is a failure, not an exception", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const probe = await probeServingChain(
    { url: "", host: "127.0.0.1", port, source: "test" },
    "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
  );
  assert.equal(probe.ok, false);
});
