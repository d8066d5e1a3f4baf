/**
 * Which kubeconfig files a command reads, and their merge, as kubectl does it: the --kubeconfig
 * flag (that file must exist), else every existing file of the `$KUBECONFIG` list (missing
 * entries are skipped; the first file to set a cluster, user, context or current-context wins),
 * else `~/.kube/config`, else the in-cluster service account — and never, as the client library
 * would, a silent fallback to `http://localhost:8080`. Every error names the file.
 * @module
 */
import { type Cluster, type Context, KubeConfig, type User } from "@kubernetes/client-node";
import { delimiter, join } from "node:path";
import { parse } from "yaml";
import { InputError } from "../plan/input_error.ts";

/** A kubeconfig that cannot be used (missing, empty, not YAML, unknown context): bad input. */
export class KubeConfigError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = "KubeConfigError";
  }
}

/** Where to look, and the environment to look in (the process's by default). */
export interface KubeConfigLookup {
  /** The --kubeconfig flag. */
  readonly kubeconfig?: string;
  readonly env?: Record<string, string | undefined>;
}

/** The service account a pod is given, which the client library reads in a pod. */
const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/** The files to read, in order of precedence; empty means "in cluster". */
export function kubeconfigFiles(lookup: KubeConfigLookup = {}): string[] {
  const env = lookup.env ?? Deno.env.toObject();
  if (lookup.kubeconfig) return [lookup.kubeconfig];
  const listed = (env.KUBECONFIG ?? "").split(delimiter).filter((file) => file.length > 0);
  if (listed.length > 0) {
    const existing = listed.filter(exists);
    if (existing.length === 0) {
      throw new KubeConfigError(
        `KUBECONFIG names ${listed.map((file) => `"${file}"`).join(", ")}, and none of them exists`,
      );
    }
    return existing;
  }
  const home = env.HOME ? join(env.HOME, ".kube", "config") : undefined;
  if (home && exists(home)) return [home];
  if (env.KUBERNETES_SERVICE_HOST && exists(SERVICE_ACCOUNT_TOKEN)) return [];
  throw new KubeConfigError(
    "no cluster to talk to: give --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a pod",
  );
}

/** Loads and merges `files` (empty: the in-cluster service account) into `config`. */
export function loadKubeconfigFiles(config: KubeConfig, files: readonly string[]): void {
  if (files.length === 0) {
    config.loadFromCluster();
    return;
  }
  const loaded = files.map((file) => {
    const one = new KubeConfig();
    loadFile(one, file);
    return one;
  });
  config.loadFromOptions({
    clusters: firstByName<Cluster>(loaded.map((each) => each.clusters)),
    users: firstByName<User>(loaded.map((each) => each.users)),
    contexts: firstByName<Context>(loaded.map((each) => each.contexts)),
    currentContext: loaded.map((each) => each.currentContext).find((name) => !!name) ?? "",
  });
}

/** Names `files` in a message. */
export function describeFiles(files: readonly string[]): string {
  if (files.length === 0) return "the in-cluster configuration";
  return files.length === 1
    ? `kubeconfig "${files[0]}"`
    : `the kubeconfigs ${files.map((file) => `"${file}"`).join(", ")}`;
}

function loadFile(config: KubeConfig, file: string): void {
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (error) {
    throw new KubeConfigError(
      error instanceof Deno.errors.NotFound
        ? `kubeconfig "${file}": file not found`
        : `kubeconfig "${file}": cannot read it: ${(error as Error).message}`,
    );
  }
  if (text.trim() === "") throw new KubeConfigError(`kubeconfig "${file}" is empty`);
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    const reason = (error as Error).message.split("\n")[0];
    throw new KubeConfigError(`kubeconfig "${file}" is not YAML: ${reason}`);
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new KubeConfigError(
      `kubeconfig "${file}" is not a kubeconfig (expected a mapping with clusters, users and contexts)`,
    );
  }
  try {
    config.loadFromFile(file);
  } catch (error) {
    throw new KubeConfigError(`kubeconfig "${file}": ${(error as Error).message}`);
  }
}

function firstByName<T extends { readonly name: string }>(lists: readonly T[][]): T[] {
  const seen = new Map<string, T>();
  for (const item of lists.flat()) if (!seen.has(item.name)) seen.set(item.name, item);
  return [...seen.values()];
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
