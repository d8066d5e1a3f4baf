import assert from "node:assert/strict";
import { KubeConfig } from "@kubernetes/client-node";
import { withClientCertificate } from "./kubeconfig.ts";
import { generateCa, issueCertificate, parseCertificate } from "../pki/mod.ts";

/** A node client certificate (CN system:node:worker-1, O system:nodes) and its key. */
async function nodeCert(): Promise<{ certPem: string; keyPem: string }> {
  const ca = await generateCa({ commonName: "kubernetes", keyType: "ecdsa-p256" });
  const issued = await issueCertificate({
    ca,
    commonName: "system:node:worker-1",
    organizations: ["system:nodes"],
    keyType: "ecdsa-p256",
    validityDays: 1,
  });
  return { certPem: issued.certPem, keyPem: issued.keyPem! };
}

Deno.test("withClientCertificate keeps the admin's server and trust, with the node's certificate", async () => {
  const admin = new KubeConfig();
  admin.loadFromOptions({
    clusters: [{ name: "c", server: "https://10.0.0.1:6443", caData: "Q0E=" }],
    users: [{ name: "admin", token: "secret" }],
    contexts: [{ name: "ctx", cluster: "c", user: "admin" }],
    currentContext: "ctx",
  });
  const { certPem, keyPem } = await nodeCert();
  const config = withClientCertificate(admin, { certPem, keyPem });
  assert.equal(config.getCurrentCluster()?.server, "https://10.0.0.1:6443");
  assert.equal(config.getCurrentCluster()?.caData, "Q0E=");
  const user = config.getCurrentUser()!;
  assert.equal(user.token, undefined);
  assert.equal(
    parseCertificate(atob(user.certData!)).subject,
    "O=system:nodes, CN=system:node:worker-1",
  );
});
