/**
 * Finds the cluster the way kubectl does (see kubeconfig_files.ts: the flag, `$KUBECONFIG`,
 * `~/.kube/config`, the in-cluster service account). Exec-plugin credentials work as the client
 * library runs them.
 * @module
 */
import { KubeConfig } from "@kubernetes/client-node";
import { parseCertificates, sameCertificate } from "../pki/mod.ts";
import {
  describeFiles,
  kubeconfigFiles,
  type KubeConfigLookup,
  loadKubeconfigFiles,
} from "./kubeconfig_files.ts";

export { KubeConfigError } from "./kubeconfig_files.ts";
import { KubeConfigError } from "./kubeconfig_files.ts";

/**
 * A KubeConfig whose connections speak HTTP/1.1 only. The client library's HTTP agent offers
 * HTTP/2, and an API server that shuts down (as every restart in a rotation does) sends GOAWAY
 * on its HTTP/2 connections, which aborts the Deno process in its HTTP/2 binding. HTTP/1.1 also
 * keeps connections per request, so a restarted server is simply re-dialed.
 */
export class Http1KubeConfig extends KubeConfig {
  override createDispatcherOptions(
    ...args: Parameters<KubeConfig["createDispatcherOptions"]>
  ): ReturnType<KubeConfig["createDispatcherOptions"]> {
    const options = super.createDispatcherOptions(...args);
    if (options.type !== "agent") return options;
    return {
      ...options,
      connect: { ...options.connect, allowH2: false } as typeof options.connect,
    };
  }
}

/** Where to look for the cluster. */
export interface KubeConfigOptions extends KubeConfigLookup {
  /** The --context flag. */
  readonly context?: string;
}

/** Loads the client configuration; errors name the file or context that is wrong. */
export function loadKubeConfig(options: KubeConfigOptions = {}): KubeConfig {
  const files = kubeconfigFiles(options);
  const config = new Http1KubeConfig();
  loadKubeconfigFiles(config, files);
  const contexts = config.getContexts().map((context) => context.name);
  const known = contexts.length ? contexts.join(", ") : "none";
  if (options.context) {
    if (!config.getContextObject(options.context)) {
      throw new KubeConfigError(
        `${describeFiles(files)} has no context "${options.context}" (contexts: ${known})`,
      );
    }
    config.setCurrentContext(options.context);
  }
  const current = config.getCurrentContext();
  if (!current) {
    throw new KubeConfigError(
      `${describeFiles(files)} sets no current-context: give --context (contexts: ${known})`,
    );
  }
  const context = config.getContextObject(current);
  if (!context) {
    throw new KubeConfigError(
      `${describeFiles(files)}: current-context "${current}" is not defined (contexts: ${known})`,
    );
  }
  const cluster = config.getCurrentCluster();
  if (!cluster?.server) {
    throw new KubeConfigError(
      `${describeFiles(files)}: context "${current}" names cluster "${context.cluster}", ` +
        (cluster ? "which has no server" : "which is not defined"),
    );
  }
  return config;
}

/**
 * A copy of `config` whose current cluster also trusts `extraCaPem` (for example the old+new
 * bundle, from the moment it exists), so the orchestrator keeps its connection across the switch
 * of serving certificates. A new KubeConfig means new connections: the client re-dials.
 */
export function trustingAlso(config: KubeConfig, extraCaPem: string): KubeConfig {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  const current = cluster.caData
    ? atob(cluster.caData)
    : cluster.caFile
    ? Deno.readTextFileSync(cluster.caFile)
    : "";
  const held = parseCertificates(current);
  const extra = parseCertificates(extraCaPem, "the extra CA");
  if (extra.every((cert) => held.some((each) => sameCertificate(each, cert)))) return config;
  const merged = `${current.trim()}\n${extraCaPem.trim()}\n`;
  const copy = new Http1KubeConfig();
  copy.loadFromString(config.exportConfig());
  const clusters = copy.clusters.map((each) =>
    each.name === cluster.name ? { ...each, caData: btoa(merged), caFile: undefined } : each
  );
  copy.loadFromOptions({
    clusters,
    users: copy.users,
    contexts: copy.contexts,
    currentContext: copy.getCurrentContext(),
  });
  return copy;
}

/**
 * The orchestrator's own connection: the kubeconfig it was given, re-read whenever its file
 * changes (a rotation re-issues admin.conf's client certificate), and trusting every CA added
 * with `trust` (the new CA, from the moment it is known). Each change yields a new KubeConfig,
 * so clients built from it dial new connections.
 */
export class KubeConfigSource {
  readonly #options: KubeConfigOptions;
  readonly #extraCas: string[] = [];
  #fileContent: string | undefined;
  #current: KubeConfig;

  constructor(options: KubeConfigOptions = {}) {
    this.#options = options;
    this.#fileContent = this.#readFile();
    this.#current = loadKubeConfig(options);
  }

  /** Also trust `caPem` from now on. */
  trust(caPem: string): void {
    if (this.#extraCas.includes(caPem)) return;
    this.#extraCas.push(caPem);
    this.#current = trustingAlso(this.#current, caPem);
  }

  /** The configuration as of now. */
  current(): KubeConfig {
    const content = this.#readFile();
    if (content !== this.#fileContent) {
      this.#fileContent = content;
      let config = loadKubeConfig(this.#options);
      for (const ca of this.#extraCas) config = trustingAlso(config, ca);
      this.#current = config;
    }
    return this.#current;
  }

  #readFile(): string | undefined {
    try {
      const path = kubeconfigFiles(this.#options)[0];
      if (!path) return undefined;
      return Deno.readTextFileSync(path);
    } catch {
      return undefined;
    }
  }
}

/**
 * A client configuration for the cluster of `config` (same server, same trust) that
 * authenticates with a client certificate.
 */
export function withClientCertificate(
  config: KubeConfig,
  credentials: { readonly certPem: string; readonly keyPem: string },
): KubeConfig {
  const cluster = config.getCurrentCluster();
  if (!cluster) {
    throw new Error("Cannot use a client certificate: the kubeconfig has no current cluster");
  }
  const result = new Http1KubeConfig();
  result.loadFromOptions({
    clusters: [cluster],
    users: [{
      name: "client-certificate",
      certData: btoa(credentials.certPem),
      keyData: btoa(credentials.keyPem),
    }],
    contexts: [{ name: "client-certificate", cluster: cluster.name, user: "client-certificate" }],
    currentContext: "client-certificate",
  });
  return result;
}
