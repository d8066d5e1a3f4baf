/**
 * A ValidatingWebhookConfiguration whose caBundle holds the cluster CA and that is never called
 * (failurePolicy Ignore, a resource that does not exist): an object for the plan's
 * update-ca-bundles steps to name, so the rotation tests cover that step kind.
 * @module
 */
import assert from "node:assert/strict";
import type { TestCluster } from "../cluster/harness.ts";

/** The webhook configuration the plan's update-ca-bundles steps name. */
export const WEBHOOK = "ca-rotator-test-webhook";

/** The plan text with both update-ca-bundles steps naming the webhook instead of nothing. */
export function namingWebhook(planText: string): string {
  const named = planText.replaceAll(
    /objects: \[\]\n(\s+caData: (bundle|new))/g,
    `objects: [ValidatingWebhookConfiguration/${WEBHOOK}]\n$1`,
  );
  assert.equal(named.split(`ValidatingWebhookConfiguration/${WEBHOOK}`).length - 1, 2);
  return named;
}

/** A webhook of the old cluster CA that is never called (failurePolicy Ignore, no resource). */
export function webhookConfiguration(caPem: string): string {
  return JSON.stringify({
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: { name: WEBHOOK },
    webhooks: [{
      name: "check.ca-rotator.test",
      clientConfig: {
        service: { namespace: "default", name: "no-such-webhook", port: 443 },
        caBundle: btoa(caPem),
      },
      rules: [{
        apiGroups: ["ca-rotator.test"],
        apiVersions: ["v1"],
        operations: ["CREATE"],
        resources: ["nothings"],
      }],
      failurePolicy: "Ignore",
      sideEffects: "None",
      admissionReviewVersions: ["v1"],
    }],
  });
}

/** How many certificates the webhook's caBundle holds, and whether `caPem` is one. */
export async function webhookTrust(cluster: TestCluster, caPem: string) {
  const config = await cluster.kubectlJson<
    { webhooks: { clientConfig: { caBundle: string } }[] }
  >(["get", "validatingwebhookconfiguration", WEBHOOK]);
  const bundle = atob(config.webhooks[0].clientConfig.caBundle);
  const body = (pem: string) => pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
  return {
    certificates: bundle.split("BEGIN CERTIFICATE").length - 1,
    holds: bundle.replace(/\s+/g, "").includes(body(caPem)),
  };
}
