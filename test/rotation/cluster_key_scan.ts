/**
 * Looking for CA private keys in what the API server keeps (and every etcd backup with it):
 * every Secret (each value also decoded), ConfigMap and Event of every namespace, searched for
 * every form of the keys given (secret_scan.ts). Reports where and which form, never the key.
 * @module
 */
import type { TestCluster } from "../cluster/harness.ts";
import { describeLeak, findLeaks, keyNeedles, type Needle } from "./secret_scan.ts";

interface Listed {
  items: {
    metadata: { namespace?: string; name: string };
    data?: Record<string, string>;
  }[];
}

/**
 * Every place a key of `keys` (name → PEM) is found in the cluster's Secrets, ConfigMaps and
 * Events, one line each; with the number of objects searched.
 */
export async function findKeysInCluster(
  cluster: TestCluster,
  keys: Readonly<Record<string, string>>,
): Promise<{ objects: number; leaks: string[] }> {
  const needles: Needle[] = [];
  for (const [name, pem] of Object.entries(keys)) needles.push(...await keyNeedles(name, pem));
  const leaks: string[] = [];
  let objects = 0;
  for (const resource of ["secrets", "configmaps", "events"]) {
    const listed = await cluster.kubectlJson<Listed>(["get", resource, "-A"]);
    for (const item of listed.items) {
      objects++;
      const where = `${resource}/${item.metadata.namespace}/${item.metadata.name}`;
      const texts = [JSON.stringify(item)];
      if (resource === "secrets") {
        for (const value of Object.values(item.data ?? {})) texts.push(decoded(value));
      }
      for (const text of texts) leaks.push(...findLeaks(where, text, needles).map(describeLeak));
    }
  }
  return { objects, leaks: [...new Set(leaks)] };
}

function decoded(base64: string): string {
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
  } catch {
    return "";
  }
}
