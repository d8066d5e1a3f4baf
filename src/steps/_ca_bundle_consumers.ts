/**
 * The API objects that carry a CA bundle of their own: APIServices (the aggregator verifies the
 * extension server with `spec.caBundle`) and admission webhooks (`clientConfig.caBundle`). Those
 * whose bundle holds the old cluster CA break when the serving certificates they verify are
 * re-issued by the new CA; ca-rotator lists them, and does not change them.
 * @module
 */
import type { ClusterApi, KubeObject } from "../engine/cluster_api.ts";
import { fingerprintsOf } from "../pki/mod.ts";

/** One object whose CA bundle holds a CA of interest. */
export interface CaBundleConsumer {
  /** `APIService/v1beta1.metrics.k8s.io`, `ValidatingWebhookConfiguration/policy (webhook x)`. */
  readonly name: string;
  /** The object alone, as `update-ca-bundles` names it: `ValidatingWebhookConfiguration/policy`. */
  readonly object: string;
}

interface ApiService extends KubeObject {
  spec?: { caBundle?: string };
}

interface WebhookConfiguration extends KubeObject {
  webhooks?: { name?: string; clientConfig?: { caBundle?: string } }[];
}

async function holdsAny(caBundle: string | undefined, prints: ReadonlySet<string>) {
  if (!caBundle) return false;
  try {
    return (await fingerprintsOf(atob(caBundle))).some((print) => prints.has(print));
  } catch {
    return false;
  }
}

/** The APIServices and webhooks whose `caBundle` holds one of the CAs `fingerprints` name. */
export async function caBundleConsumers(
  cluster: ClusterApi,
  fingerprints: readonly string[],
): Promise<CaBundleConsumer[]> {
  const prints = new Set(fingerprints);
  const found: CaBundleConsumer[] = [];
  for (const service of await cluster.list<ApiService>("apiregistration.k8s.io/v1", "APIService")) {
    if (await holdsAny(service.spec?.caBundle, prints)) {
      const object = `APIService/${service.metadata?.name}`;
      found.push({ name: object, object });
    }
  }
  for (
    const kind of ["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"] as const
  ) {
    for (
      const config of await cluster.list<WebhookConfiguration>(
        "admissionregistration.k8s.io/v1",
        kind,
      )
    ) {
      for (const webhook of config.webhooks ?? []) {
        if (await holdsAny(webhook.clientConfig?.caBundle, prints)) {
          const object = `${kind}/${config.metadata?.name}`;
          found.push({ name: `${object} (webhook ${webhook.name})`, object });
        }
      }
    }
  }
  return found;
}
