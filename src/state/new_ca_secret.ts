/**
 * The new CA material of a rotation: generated once and kept in a Secret in kube-system (or read
 * from the files the plan names), so a resumed run installs the same CA.
 *
 * The private key stays in the Secret only until every control-plane node holds it (distribute-ca
 * stages it there as `<base>-new.key`; activate-ca makes it `<base>.key`): from then on
 * {@link releaseNewCaKeys} drops it from the Secret, which keeps the certificate, and a resumed
 * run reads the key from the first control-plane node that holds it. So after the trust phase no
 * Secret (nor etcd, nor its backups) holds a key that can sign for the cluster.
 * @module
 */
import { resolve } from "node:path";
import type { ClusterApi, KubeObject } from "../engine/cluster_api.ts";
import { type CaMaterial, caMaterialOf, type CaPair } from "../engine/ca_material.ts";
import type { Change } from "../engine/change.ts";
import type { NodeAccess } from "../engine/node_access.ts";
import { caPaths } from "../plan/node_paths.ts";
import { CA_NAMES, type CaName, type CaSource } from "../plan/ca.ts";
import type { PlanSettings } from "../plan/schema.ts";
import { InputError } from "../plan/input_error.ts";
import {
  certificateToPem,
  checkGivenCa,
  fingerprint,
  generateCa,
  GivenCaError,
  type GivenCaFile,
  keyMatchesCertificate,
  loadCa,
  parseCertificate,
  parsePrivateKey,
  sameCertificates,
} from "../pki/mod.ts";

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
  plan: Pick<PlanSettings, "metadata" | "cas" | "layout">,
  planDir: string,
  options: {
    dryRun: boolean;
    /** The CAs of the plan's files, already read by {@link loadGivenCas}. */
    given?: Record<string, CaPair>;
    /** Where a key that has left the Secret is read (see the module's comment). */
    controlPlane: readonly NodeAccess[];
  },
): Promise<NewCaMaterial> {
  const ref = secretRef(plan.metadata.name);
  const name = ref.name;
  const secret = await cluster.read<Secret>(ref);
  const data = { ...secret?.data };
  const given = options.given ?? await loadGivenCas(plan, planDir);
  const pairs: Record<string, CaPair> = {};
  for (const [caName, source] of Object.entries(plan.cas) as [string, CaSource | undefined][]) {
    if (!source) continue;
    if (source.source === "files") {
      pairs[caName] = given[caName];
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
    if (certPem) {
      const held = await keyOnNodes(options.controlPlane, plan.layout, caName as CaName, certPem);
      if (!held) {
        throw new Error(
          `Cannot load the new ${caName} CA: Secret kube-system/${name} holds its certificate, ` +
            "and its key has left it for the control-plane nodes, but none of them holds the key " +
            `(${
              Object.values(keyPlaces(plan.layout, caName as CaName)).map((p) => p.key).join(
                " or ",
              )
            } with its certificate): restore them from the nodes' backups`,
        );
      }
      pairs[caName] = {
        certPem,
        keyPem: held.keyPem,
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

/**
 * The new CAs' certificates, for a run that never signs (a rollback): from the plan's files or
 * the Secret, never generated; a CA the Secret no longer has is left out. Asking for a key is
 * an error.
 */
export async function readNewCaCertificates(
  cluster: ClusterApi,
  plan: Pick<PlanSettings, "metadata" | "cas">,
  given: Record<string, CaPair>,
): Promise<CaMaterial> {
  const secret = await cluster.read<Secret>(secretRef(plan.metadata.name));
  const pairs: Record<string, CaPair> = {};
  for (const [caName, source] of Object.entries(plan.cas) as [CaName, CaSource | undefined][]) {
    if (!source) continue;
    const cert = source.source === "files"
      ? given[caName].certPem
      : secret?.data?.[secretKeys(caName).cert] && fromBase64(secret.data[secretKeys(caName).cert]);
    if (!cert) continue;
    const certPem = cert;
    pairs[caName] = {
      certPem,
      fingerprint: await fingerprint(parseCertificate(certPem)),
      get keyPem(): string {
        throw new Error(`the new ${caName} CA's key is not loaded: this run never signs`);
      },
    };
  }
  return caMaterialOf(pairs);
}

/** Where a control-plane node holds a new CA's key: staged (`-new`), then active. */
function keyPlaces(layout: PlanSettings["layout"], ca: CaName) {
  const paths = caPaths(layout, ca);
  return {
    staged: { cert: paths.newCert, key: paths.newKey },
    active: { cert: paths.cert, key: paths.key },
  };
}

/** The key of the CA `certPem` as `node` holds it, staged or active; undefined if it does not. */
async function keyOnNode(
  node: NodeAccess,
  layout: PlanSettings["layout"],
  ca: CaName,
  certPem: string,
): Promise<string | undefined> {
  for (const place of Object.values(keyPlaces(layout, ca))) {
    const cert = await node.readFile(place.cert);
    if (
      cert === undefined || !(await sameCertificates(cert, certPem, `${node.name}:${place.cert}`))
    ) {
      continue;
    }
    const keyPem = await node.readFile(place.key);
    if (keyPem === undefined) continue;
    const { privateKey } = await parsePrivateKey(keyPem, `${node.name}:${place.key}`);
    if (await keyMatchesCertificate(privateKey, parseCertificate(certPem))) return keyPem;
  }
  return undefined;
}

/** The key of the CA `certPem` from the first control-plane node that holds it. */
async function keyOnNodes(
  nodes: readonly NodeAccess[],
  layout: PlanSettings["layout"],
  ca: CaName,
  certPem: string,
): Promise<{ keyPem: string } | undefined> {
  for (const node of nodes) {
    const keyPem = await keyOnNode(node, layout, ca, certPem);
    if (keyPem !== undefined) return { keyPem };
  }
  return undefined;
}

/**
 * Drops from the rotation's Secret the key of every new CA that each control-plane node holds,
 * keeping its certificate (see the module's comment). Returns the CAs whose key it dropped.
 */
export async function releaseNewCaKeys(
  cluster: ClusterApi,
  plan: Pick<PlanSettings, "metadata" | "layout">,
  controlPlane: readonly NodeAccess[],
): Promise<CaName[]> {
  const secret = await cluster.read<Secret>(secretRef(plan.metadata.name));
  if (!secret?.data || controlPlane.length === 0) return [];
  const data = { ...secret.data };
  const released: CaName[] = [];
  for (const ca of CA_NAMES) {
    const keys = secretKeys(ca);
    if (!data[keys.key] || !data[keys.cert]) continue;
    const certPem = fromBase64(data[keys.cert]);
    let everywhere = true;
    for (const node of controlPlane) {
      if (await keyOnNode(node, plan.layout, ca, certPem) === undefined) everywhere = false;
    }
    if (!everywhere) continue;
    delete data[keys.key];
    released.push(ca);
  }
  if (released.length > 0) await cluster.replace({ ...secret, data });
  return released;
}

/**
 * Reads and checks every CA the plan gives as files (`source: files`), before anything is
 * changed: a file that cannot be read, or that is not a usable CA, is bad input naming the
 * field and file.
 * @throws {InputError} `Cannot use cas.<ca>.<cert|key> "<path>": <why>`.
 */
export async function loadGivenCas(
  plan: Pick<PlanSettings, "cas">,
  planDir: string,
  /** The longest lifetime of the leaves the plan issues with each CA (see checkGivenCa). */
  leafDays: Partial<Record<CaName, number>> = {},
): Promise<Record<string, CaPair>> {
  const pairs: Record<string, CaPair> = {};
  for (const [caName, source] of Object.entries(plan.cas) as [CaName, CaSource | undefined][]) {
    if (source?.source === "files") {
      pairs[caName] = await fromFiles(caName, source, planDir, leafDays[caName]);
    }
  }
  return pairs;
}

/**
 * A given CA, checked; only the CA itself is kept (a chain in its file is checked and left out,
 * see src/pki/given_ca.ts).
 */
async function fromFiles(
  caName: string,
  source: Extract<CaSource, { source: "files" }>,
  planDir: string,
  leafDays: number | undefined,
): Promise<CaPair> {
  const paths = { cert: resolve(planDir, source.cert), key: resolve(planDir, source.key) };
  const refuse = (file: GivenCaFile, why: string) =>
    new InputError(`Cannot use cas.${caName}.${file} "${paths[file]}": ${why}`);
  const read = async (file: GivenCaFile) => {
    try {
      return await Deno.readTextFile(paths[file]);
    } catch (error) {
      throw refuse(file, (error as Error).message);
    }
  };
  const certPem = await read("cert");
  const keyPem = await read("key");
  try {
    const { cert } = await checkGivenCa(certPem, keyPem, { leafDays });
    return { certPem: certificateToPem(cert), keyPem, fingerprint: await fingerprint(cert) };
  } catch (error) {
    if (error instanceof GivenCaError) throw refuse(error.file, error.message);
    throw error;
  }
}
