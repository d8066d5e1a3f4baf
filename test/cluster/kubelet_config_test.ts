import assert from "node:assert/strict";
import { join } from "node:path";
import { loadKubeletConfig } from "./kubelet_config.ts";

Deno.test("loadKubeletConfig says why the kubelet does not start, with what config.yaml said", async () => {
  const root = await Deno.makeTempDir();
  try {
    const missing = await loadKubeletConfig(root);
    assert.equal(missing.config, undefined);
    assert.match(missing.notStarted!, /^cannot read \/var\/lib\/kubelet\/config.yaml: /);

    await Deno.mkdir(join(root, "var/lib/kubelet"), { recursive: true });
    await Deno.mkdir(join(root, "etc/kubernetes/pki"), { recursive: true });
    await Deno.writeTextFile(join(root, "etc/kubernetes/pki/ca.crt"), "no certificate\n");
    await Deno.writeTextFile(
      join(root, "var/lib/kubelet/config.yaml"),
      "rotateCertificates: true\nauthentication:\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\n",
    );
    const empty = await loadKubeletConfig(root);
    assert.deepEqual(empty.config, {
      rotateCertificates: true,
      clientCAFile: "/etc/kubernetes/pki/ca.crt",
      clientCAFingerprints: [],
    });
    assert.equal(empty.notStarted, "clientCAFile /etc/kubernetes/pki/ca.crt holds no certificate");

    await Deno.writeTextFile(join(root, "var/lib/kubelet/config.yaml"), "{}\n");
    const noKubeconfig = await loadKubeletConfig(root);
    assert.deepEqual(noKubeconfig.config, {
      rotateCertificates: false,
      clientCAFile: null,
      clientCAFingerprints: [],
    });
    assert.match(
      noKubeconfig.notStarted!,
      /^Cannot use kubeconfig ".*\/etc\/kubernetes\/kubelet.conf"/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
