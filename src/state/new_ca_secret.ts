/**
 * The new CA material of a rotation: generated once and kept in a Secret in kube-system (or read
 * from the files the plan names), so a resumed run installs the same CA.
 * @module
 */
import { resolve } from "node:path";
import type { ClusterApi, KubeObject } from "../engine/cluster_api.ts";
import { type CaMaterial, caMaterialOf, type CaPair } from "../engine/ca_material.ts";
import type { Change } from "../engine/change.ts";
import type { CaSource } from "../plan/ca.ts";
import type { PlanSettings } from "../plan/schema.ts";
import { fingerprint, generateCa, loadCa, parseCertificate } from "../pki/mod.ts";

/** The Secret that holds the generated CAs of the plan named `planName`. */
export function newCaSecretName(planName: string): string {
  return `ca-rotator-${planName}-new-ca`;
}

interface Secret extends KubeObject {
  data?: Record<string, string>;
  type?: string;
}

const toBase64 = (text: string) => btoa(text);
const fromBase64 = (text: string) => atob(text);

/** The Secret's data keys of one CA: `<ca>.crt` and `<ca>.key`. */
function secretKeys(caName: string): { cert: string; key: string } {
  return { cert: `${caName}.crt`, key: `${caName}.key` };
}

function secretRef(planName: string) {
  return {
    apiVersion: "v1",
    kind: "Secret",
    namespace: "kube-system",
    name: newCaSecretName(planName),
  };
}

/**
 * The new CA certificate (PEM) the rotation of `planName` keeps in its Secret, or `undefined`
 * while none has been generated. Never returns the key.
 */
export async function readNewCaCertificate(
  cluster: ClusterApi,
  planName: string,
  caName: string,
): Promise<string | undefined> {
  const secret = await cluster.read<Secret>(secretRef(planName));
  const cert = secret?.data?.[secretKeys(caName).cert];
  return cert === undefined ? undefined : fromBase64(cert);
}

/** The CA material and, when the Secret has to be written, that change (for the dry run). */
export interface NewCaMaterial {
  readonly cas: CaMaterial;
  readonly changes: readonly Change[];
}

/**
 * Loads the new CAs: from the plan's files, from the Secret, or generated now. A generated CA is
 * stored in the Secret before it is used (except in a dry run, which only reports the change).
 */
export async function loadNewCaMaterial(
  cluster: ClusterApi,
  plan: Pick<PlanSettings, "metadata" | "cas">,
  planDir: string,
  options: { dryRun: boolean },
): Promise<NewCaMaterial> {
  const ref = secretRef(plan.metadata.name);
  const name = ref.name;
  const secret = await cluster.read<Secret>(ref);
  const data = { ...secret?.data };
  const pairs: Record<string, CaPair> = {};
  for (const [caName, source] of Object.entries(plan.cas) as [string, CaSource | undefined][]) {
    if (!source) continue;
    if (source.source === "files") {
      pairs[caName] = await fromFiles(caName, source, planDir);
      continue;
    }
    const keys = secretKeys(caName);
    const certPem = data[keys.cert] ? fromBase64(data[keys.cert]) : undefined;
    const keyPem = data[keys.key] ? fromBase64(data[keys.key]) : undefined;
    if (certPem && keyPem) {
      await loadCa(certPem, keyPem, `new ${caName} CA in Secret kube-system/${name}`);
      pairs[caName] = {
        certPem,
        keyPem,
        fingerprint: await fingerprint(parseCertificate(certPem)),
      };
      continue;
    }
    const generated = await generateCa({
      commonName: source.commonName,
      keyType: source.algorithm,
      validityDays: source.validityDays,
    });
    data[keys.cert] = toBase64(generated.certPem);
    data[keys.key] = toBase64(generated.keyPem);
    pairs[caName] = {
      certPem: generated.certPem,
      keyPem: generated.keyPem,
      fingerprint: await fingerprint(generated.cert),
    };
  }
  const changes: Change[] = [];
  if (JSON.stringify(data) !== JSON.stringify({ ...secret?.data })) {
    const desired: Secret = {
      apiVersion: "v1",
      kind: "Secret",
      type: "Opaque",
      metadata: {
        name,
        namespace: "kube-system",
        labels: { "app.kubernetes.io/managed-by": "ca-rotator" },
        resourceVersion: secret?.metadata?.resourceVersion,
      },
      data,
    };
    changes.push({
      action: secret ? "update" : "create",
      target: { type: "object", apiVersion: "v1", kind: "Secret", namespace: "kube-system", name },
      after: Object.keys(data).sort().map((key) => `${key}: (new CA material)`).join("\n") + "\n",
      before: secret
        ? Object.keys(secret.data ?? {}).sort().map((key) => `${key}: (CA material)`).join("\n") +
          "\n"
        : undefined,
      sensitive: true,
      reason: "the new CAs are generated once and kept so a resumed run uses the same CA",
    });
    if (!options.dryRun) {
      if (secret) await cluster.replace(desired);
      else await cluster.create(desired);
    }
  }
  return { cas: caMaterialOf(pairs), changes };
}

async function fromFiles(
  caName: string,
  source: Extract<CaSource, { source: "files" }>,
  planDir: string,
): Promise<CaPair> {
  const certPath = resolve(planDir, source.cert);
  const keyPath = resolve(planDir, source.key);
  const read = async (path: string, field: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch (error) {
      throw new Error(
        `Cannot read cas.${caName}.${field} "${path}": ${(error as Error).message}`,
      );
    }
  };
  const certPem = await read(certPath, "cert");
  const keyPem = await read(keyPath, "key");
  await loadCa(certPem, keyPem, `new ${caName} CA from "${certPath}"`);
  return { certPem, keyPem, fingerprint: await fingerprint(parseCertificate(certPem)) };
}
