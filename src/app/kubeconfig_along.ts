/**
 * Brings a person's or a pipeline's kubeconfig along a CA rotation (runbook step 7): reads where
 * the rotation stands and its CAs from the cluster's own record — the progress ConfigMap, the
 * `kube-root-ca.crt` ConfigMap of kube-system (the CAs the controller-manager publishes) and, only
 * while that does not hold the new CA yet, the new-CA Secret's certificate (never its key) — and
 * gives every cluster entry that points at this cluster the CA data the phase needs
 * (kubeconfig_needs.ts); on request it renews the user's client certificate through the CSR API
 * (client_certificate_request.ts). It returns the new kubeconfig text; writing it is the
 * caller's. A kubeconfig with a token or exec credential only gets its CA data updated.
 * @module
 */
import { dirname, resolve } from "node:path";
import type { Printer } from "../engine/printer.ts";
import type { CaPair } from "../engine/ca_material.ts";
import { InputError } from "../plan/input_error.ts";
import type { LoadedPlan } from "../plan/load.ts";
import type { PlanStep } from "../steps/kinds.ts";
import { KubeClusterApi } from "../kube/kube_cluster_api.ts";
import { type KubeConfigOptions, loadKubeConfig } from "../kube/kubeconfig.ts";
import { kubeconfigFiles } from "../kube/kubeconfig_files.ts";
import { contactServer } from "../kube/server_contact.ts";
import { ConfigMapProgressStore } from "../state/progress_configmap.ts";
import { readNewCaCertificates } from "../state/new_ca_secret.ts";
import {
  type KubeconfigCluster,
  readUserKubeconfig,
  type UserKubeconfig,
  UserKubeconfigError,
  withClusterCaData,
  withUserClientCertificate,
} from "../formats/user_kubeconfig.ts";
import {
  encodeBundle,
  fingerprint,
  issuedBy,
  parseCertificate,
  parseCertificates,
  sameCertificates,
  type x509,
} from "../pki/mod.ts";
import { caDataWords, type KubeconfigNeeds, kubeconfigNeeds } from "./kubeconfig_needs.ts";
import { requestClientCertificate } from "./client_certificate_request.ts";

/** What to bring along, and how. */
export interface KubeconfigAlongOptions extends KubeConfigOptions {
  /** The kubeconfig to bring along; default: the one the connection uses. */
  readonly input?: string;
  /** The cluster entries to update, by name; default: those whose server is this cluster's. */
  readonly clusters?: readonly string[];
  /** Also renew the client certificate of the current context's user. */
  readonly renewClient?: boolean;
  /** How long a renewal may wait for approval and certificate. */
  readonly timeoutMs?: number;
  readonly printer: Printer;
}

/** A CA certificate, as the output shows it (never a key). */
export interface CaSummary {
  readonly subject: string;
  /** SHA-256, hex. */
  readonly fingerprint: string;
  readonly notAfter: string;
  /** Which CA of the rotation it is. */
  readonly role: "old" | "new" | "other";
}

/** One cluster entry and what it trusted before and trusts now. */
export interface ClusterChange {
  readonly name: string;
  readonly server: string;
  readonly changed: boolean;
  readonly before: readonly CaSummary[];
  readonly after: readonly CaSummary[];
}

/** A client certificate, as the output shows it (never its key). */
export interface ClientSummary {
  readonly user: string;
  readonly subject: string;
  readonly commonName: string;
  readonly groups: readonly string[];
  readonly notAfter: string;
  /** The CA of the rotation that issued it. */
  readonly issuer: "old" | "new" | "other";
}

/** The outcome: the new kubeconfig text and what changed in it. */
export interface KubeconfigAlongResult {
  /** The kubeconfig read (as given, or the connection's). */
  readonly input: string;
  /** The kubeconfig as it should be now (with the renewed key, when renewed: write it 0600). */
  readonly text: string;
  readonly changed: boolean;
  readonly needs: KubeconfigNeeds;
  readonly clusters: readonly ClusterChange[];
  /** The current user's client certificate before renewal (absent: none, e.g. a token). */
  readonly client?: ClientSummary;
  /** The renewed client certificate and its CSR. */
  readonly renewed?: ClientSummary & { readonly csr: string; readonly approvedBy: string };
  readonly warnings: readonly string[];
}

/** `https://Host:443/` → `https://host:443`: servers compared as kubectl would reach them. */
export function serverKey(server: string): string {
  try {
    const url = new URL(server);
    const port = url.port || (url.protocol === "http:" ? "80" : "443");
    return `${url.protocol}//${url.hostname.toLowerCase()}:${port}${
      url.pathname.replace(/\/+$/, "")
    }`;
  } catch {
    return server.trim().replace(/\/+$/, "");
  }
}

/**
 * The cluster entries to update: those named, or those whose server is one of `servers`.
 * @throws {InputError} naming the file, when a named entry does not exist or none matches.
 */
export function selectClusters(
  kubeconfig: UserKubeconfig,
  servers: readonly string[],
  path: string,
  names?: readonly string[],
): KubeconfigCluster[] {
  const listed = kubeconfig.clusters.map((each) => `${each.name} (${each.server})`).join(", ");
  if (names && names.length > 0) {
    return names.map((name) => {
      const found = kubeconfig.clusters.find((each) => each.name === name);
      if (!found) {
        throw new InputError(`${path}: has no cluster "${name}" (clusters: ${listed})`);
      }
      return found;
    });
  }
  const keys = new Set(servers.map(serverKey));
  const matching = kubeconfig.clusters.filter((each) => keys.has(serverKey(each.server)));
  if (matching.length === 0) {
    throw new InputError(
      `${path}: no cluster's server is this cluster's (${servers.join(", ")}); clusters: ` +
        `${listed}. Name the entry with --cluster`,
    );
  }
  return matching;
}

/** The user whose client certificate to renew: the current context's, else a selected cluster's. */
function userToRenew(
  kubeconfig: UserKubeconfig,
  clusters: readonly KubeconfigCluster[],
  path: string,
) {
  const current = kubeconfig.contexts.find((each) => each.name === kubeconfig.currentContext);
  const context = current ??
    kubeconfig.contexts.find((each) => clusters.some((cluster) => cluster.name === each.cluster));
  if (!context) {
    throw new InputError(`${path}: no context names one of the clusters brought along`);
  }
  const user = kubeconfig.users.find((each) => each.name === context.user);
  if (!user) {
    throw new InputError(
      `${path}: context "${context.name}" names user "${context.user}", ` +
        "which is not defined",
    );
  }
  return user;
}

/** The CAs of the rotation as the cluster records them: old (every one) and new. */
interface RotationCas {
  readonly old: x509.X509Certificate[];
  readonly new: x509.X509Certificate[];
}

async function summary(cert: x509.X509Certificate, cas: RotationCas): Promise<CaSummary> {
  const print = await fingerprint(cert);
  const among = async (list: readonly x509.X509Certificate[]) => {
    for (const each of list) if (await fingerprint(each) === print) return true;
    return false;
  };
  return {
    subject: cert.subject,
    fingerprint: print,
    notAfter: cert.notAfter.toISOString(),
    role: await among(cas.new) ? "new" : await among(cas.old) ? "old" : "other",
  };
}

async function issuerOf(
  cert: x509.X509Certificate,
  cas: RotationCas,
): Promise<"old" | "new" | "other"> {
  for (const ca of cas.new) if (await issuedBy(cert, ca)) return "new";
  for (const ca of cas.old) if (await issuedBy(cert, ca)) return "old";
  return "other";
}

function clientSummary(user: string, cert: x509.X509Certificate, issuer: ClientSummary["issuer"]) {
  return {
    user,
    subject: cert.subject,
    commonName: cert.subjectName.getField("CN")[0] ?? "",
    groups: cert.subjectName.getField("O"),
    notAfter: cert.notAfter.toISOString(),
    issuer,
  };
}

const CA_WORDS = { old: "the old CA", new: "the new CA", other: "a CA that is not the rotation's" };

/** The new cluster CA's certificate: from kube-root-ca.crt by its recorded fingerprint, or the Secret. */
async function newClusterCa(
  cluster: KubeClusterApi,
  loaded: LoadedPlan<PlanStep>,
  published: readonly x509.X509Certificate[],
  recorded: string,
): Promise<x509.X509Certificate[]> {
  for (const cert of published) if (await fingerprint(cert) === recorded) return [cert];
  const source = loaded.plan.cas.cluster;
  const given: Record<string, CaPair> = {};
  if (source?.source === "files") {
    const certPem = await Deno.readTextFile(source.cert);
    given.cluster = {
      certPem,
      fingerprint: await fingerprint(parseCertificate(certPem, source.cert)),
      get keyPem(): string {
        throw new Error("the kubeconfig command never reads a CA key");
      },
    };
  }
  const material = await readNewCaCertificates(cluster, loaded.plan, given);
  try {
    return parseCertificates(material.get("cluster").certPem, "the new cluster CA");
  } catch {
    return [];
  }
}

/** Reads the rotation's state and returns the kubeconfig as the phase needs it. */
export async function bringKubeconfigAlong(
  loaded: LoadedPlan<PlanStep>,
  options: KubeconfigAlongOptions,
): Promise<KubeconfigAlongResult> {
  const { printer } = options;
  const input = options.input ?? kubeconfigFiles(options)[0];
  if (!input) throw new InputError("no kubeconfig to bring along: give --in");
  let text: string;
  try {
    text = await Deno.readTextFile(input);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound ? "file not found" : (error as Error).message;
    throw new InputError(`Cannot read --in "${input}": ${why}`);
  }
  let kubeconfig: UserKubeconfig;
  try {
    kubeconfig = readUserKubeconfig(text, input);
  } catch (error) {
    if (error instanceof UserKubeconfigError) throw new InputError(error.message);
    throw error;
  }

  const config = loadKubeConfig(options);
  await contactServer(config, options);
  const cluster = new KubeClusterApi(config);
  const servers = [
    config.getCurrentCluster()!.server,
    ...(loaded.plan.apiServers?.endpoints ?? []),
    ...(loaded.plan.apiServers?.loadBalancer ? [loaded.plan.apiServers.loadBalancer] : []),
  ];
  const selected = selectClusters(kubeconfig, servers, input, options.clusters);
  const user = options.renewClient ? userToRenew(kubeconfig, selected, input) : undefined;
  if (user && user.credential !== "client-certificate") {
    throw new InputError(
      `${input}: users[${user.index}] ("${user.name}") has no client certificate to renew ` +
        `(it uses ${user.credential === "none" ? "no credential" : user.credential})`,
    );
  }

  const progress = await new ConfigMapProgressStore(cluster, loaded.plan.metadata.name).load();
  const needs = kubeconfigNeeds(
    loaded.plan.steps.map((step) => ({ ...step, record: progress?.steps[step.id] })),
    progress,
  );
  const rootCa = await cluster.read<{ data?: Record<string, string> }>({
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: "kube-system",
    name: "kube-root-ca.crt",
  });
  const published = parseCertificates(rootCa?.data?.["ca.crt"] ?? "", "kube-root-ca.crt");
  const recorded = needs.stage === "before" || needs.stage === "rolled-back"
    ? undefined
    : progress?.caFingerprints.cluster;
  const newCa = recorded ? await newClusterCa(cluster, loaded, published, recorded) : [];
  const newPrints = await Promise.all(newCa.map((cert) => fingerprint(cert)));
  const old: x509.X509Certificate[] = [];
  for (const cert of published) if (!newPrints.includes(await fingerprint(cert))) old.push(cert);
  const cas: RotationCas = { old, new: newCa };
  const wanted = needs.caData === "old" ? old : needs.caData === "new" ? newCa : [...old, ...newCa];
  const missing = needs.caData !== "new" && old.length === 0
    ? "the old CA (kube-system/kube-root-ca.crt holds none)"
    : needs.caData !== "old" && newCa.length === 0
    ? "the new CA (neither kube-root-ca.crt nor the new-CA Secret holds it)"
    : undefined;
  if (missing) {
    throw new Error(`Cannot bring ${input} along: the cluster's record lacks ${missing}`);
  }
  const wantedPem = encodeBundle(wanted);
  const wantedSummary = await Promise.all(wanted.map((cert) => summary(cert, cas)));

  const warnings: string[] = [];
  const clusters: ClusterChange[] = [];
  const toChange: number[] = [];
  for (const entry of selected) {
    const held = entry.caPem ??
      (entry.caFile
        ? await Deno.readTextFile(resolve(dirname(input), entry.caFile)).catch(() => "")
        : "");
    let heldCerts: x509.X509Certificate[] = [];
    try {
      heldCerts = parseCertificates(held, `${input}: cluster "${entry.name}"`);
    } catch {
      // no readable CA: it changes
    }
    const same = !entry.insecure && entry.caPem !== undefined &&
      await sameCertificates(held, wantedPem).catch(() => false);
    if (!same) toChange.push(entry.index);
    if (entry.insecure) warnings.push(`cluster "${entry.name}": insecure-skip-tls-verify removed`);
    clusters.push({
      name: entry.name,
      server: entry.server,
      changed: !same,
      before: await Promise.all(heldCerts.map((cert) => summary(cert, cas))),
      after: wantedSummary,
    });
  }
  let result = toChange.length > 0 ? withClusterCaData(text, toChange, wantedPem, input) : text;

  let client: ClientSummary | undefined;
  const current = user ??
    kubeconfig.users.find((each) =>
      each.name === kubeconfig.contexts.find((c) => c.name === kubeconfig.currentContext)?.user
    );
  if (current?.credential === "client-certificate") {
    const pem = current.certPem ??
      await Deno.readTextFile(resolve(dirname(input), current.certFile!)).catch(() => undefined);
    if (pem === undefined) {
      if (user) {
        throw new InputError(
          `Cannot read users[${current.index}].user.client-certificate "${current.certFile}"`,
        );
      }
    } else {
      try {
        const cert = parseCertificate(pem, `${input}: users[${current.index}]`);
        client = clientSummary(current.name, cert, await issuerOf(cert, cas));
      } catch (error) {
        throw new InputError(
          `${input}: users[${current.index}].user.client-certificate-data: ${
            (error as Error).message
          }`,
        );
      }
    }
  }

  let renewed: KubeconfigAlongResult["renewed"];
  if (user && client) {
    if (!client.commonName) {
      throw new InputError(`${input}: the client certificate of "${user.name}" has no CN`);
    }
    const issued = await requestClientCertificate({
      commonName: client.commonName,
      organizations: client.groups,
      cluster,
      printer,
      timeoutMs: options.timeoutMs ?? 120_000,
    });
    const issuer = await issuerOf(issued.cert, cas);
    renewed = {
      ...clientSummary(user.name, issued.cert, issuer),
      csr: issued.csr,
      approvedBy: issued.approvedBy,
    };
    result = withUserClientCertificate(result, user.index, issued.certPem, issued.keyPem, input);
    if (needs.signer === "new" && issuer !== "new") {
      warnings.push(
        `the renewed client certificate was issued by ${CA_WORDS[issuer]}, not the new CA: the ` +
          "controller-manager does not sign with the new CA (--cluster-signing-cert-file); it " +
          "stops working when finalize removes the old CA",
      );
    } else if (issuer === "old" && needs.stage !== "before" && needs.stage !== "rolled-back") {
      warnings.push(
        "the renewed client certificate was issued by the old CA (the controller-manager signs " +
          "with it until the switch): renew again after the switch, before finalize",
      );
    }
  } else if (client && client.issuer === "old" && needs.signer === "new") {
    warnings.push(
      `the client certificate of "${client.user}" (${client.subject}) was issued by the old CA: ` +
        (needs.oldClientCertsAccepted
          ? "renew it (--renew-client) before finalize removes the old CA"
          : "the API servers no longer accept it: renew it (--renew-client)"),
    );
  }
  printer.info(
    `rotation stage: ${needs.stage}; kubeconfigs need ${caDataWords(needs.caData)}`,
  );
  return {
    input,
    text: result,
    changed: result !== text,
    needs,
    clusters,
    ...(client ? { client } : {}),
    ...(renewed ? { renewed } : {}),
    warnings,
  };
}
