import assert from "node:assert/strict";
import { manifestHash, parseStaticPod } from "./static_pod_manifest.ts";

const apiserver = await Deno.readTextFile(
  new URL("./testdata/kube-apiserver.yaml", import.meta.url),
);

Deno.test("parseStaticPod reads a kubeadm kube-apiserver manifest", () => {
  const pod = parseStaticPod(apiserver, "kube-apiserver.yaml");
  assert.equal(pod.name, "kube-apiserver");
  assert.equal(pod.namespace, "kube-system");
  assert.equal(pod.containers.length, 1);
  const [c] = pod.containers;
  assert.equal(c.command[0], "kube-apiserver");
  assert.ok(c.command.includes("--client-ca-file=/etc/kubernetes/pki/ca.crt"));
  assert.deepEqual(c.probes.readiness, {
    host: "198.18.1.1",
    port: 6443,
    path: "/readyz",
    scheme: "HTTPS",
    periodSeconds: 1,
    timeoutSeconds: 15,
    initialDelaySeconds: 0,
    failureThreshold: 3,
  });
  assert.equal(c.probes.startup?.path, "/livez");
});

Deno.test("parseStaticPod names the file and the field it cannot read", () => {
  assert.throws(
    () => parseStaticPod("kind: Service", "x.yaml"),
    /static pod "x.yaml": kind is not Pod/,
  );
  assert.throws(
    () => parseStaticPod("kind: Pod\nmetadata: {name: a}\nspec: {}", "a.yaml"),
    /spec.containers is missing/,
  );
  assert.throws(() => parseStaticPod("kind: [", "b.yaml"), /Cannot read static pod "b.yaml"/);
});

Deno.test("manifestHash is the hex SHA-256 of the bytes", async () => {
  assert.equal(
    await manifestHash("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});
