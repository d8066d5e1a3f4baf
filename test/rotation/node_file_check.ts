/**
 * Reads every file a rotation touches on a node — PKI certificates and keys, static-pod
 * manifests, kubeconfigs, the kubelet config, and the backups ca-rotator keeps of them — and
 * says which do not parse: a certificate or key file whose PEM blocks are cut short or do not
 * decode, a YAML file that is not one whole document. A half-written file is what a run killed
 * in the middle of a write would leave if writes were not atomic.
 * @module
 */
import { basename, dirname, join, relative } from "node:path";
import { parse as parseYaml } from "yaml";
import { decodePem } from "../../src/pki/pem.ts";
import { parseCertificates } from "../../src/pki/bundle.ts";
import { parsePrivateKey } from "../../src/pki/private_key.ts";

/** Where, under a node root, the files a rotation writes live. */
const TOUCHED = ["etc/kubernetes", "var/lib/kubelet/config.yaml", "var/lib/ca-rotator/backup"];

/** What the check found on a set of node roots. */
export interface NodeFileReport {
  /** How many files were read and parsed. */
  readonly checked: number;
  /** One line per file that does not parse (`<path>: why`). */
  readonly problems: readonly string[];
}

/** A backup is `<path>.<ISO time without colons>`; the original's name tells how to parse it. */
const BACKUP_STAMP = /\.\d{4}-\d{2}-\d{2}T\d{6}(\.\d+)?Z$/;

/** Checks every touched file under each root; never throws for a bad file, lists it. */
export async function checkNodeFiles(roots: readonly string[]): Promise<NodeFileReport> {
  let checked = 0;
  const problems: string[] = [];
  for (const root of roots) {
    for (const prefix of TOUCHED) {
      for (const path of await filesUnder(join(root, prefix))) {
        const problem = await fileProblem(path, await Deno.readTextFile(path));
        checked++;
        if (problem) problems.push(`${relative(root, path)} (${basename(root)}): ${problem}`);
      }
    }
  }
  return { checked, problems };
}

/**
 * Why the file at `path` with `text` does not parse, or `undefined` when it does. The kind is
 * told by the file's name (a backup's by the name it backs up).
 */
export async function fileProblem(path: string, text: string): Promise<string | undefined> {
  const name = basename(path).replace(BACKUP_STAMP, "");
  try {
    if (name.endsWith(".ca-rotator.tmp")) {
      // A temporary file left by a run killed between write and rename: a kubelet reads every
      // file of its manifest directory that does not start with a dot.
      if (dirname(path).endsWith("/etc/kubernetes/manifests") && !name.startsWith(".")) {
        return "a temporary file in a static-pod manifest directory";
      }
      return undefined;
    }
    if (/\.(crt|pem|pub)$/.test(name)) {
      wholePem(text);
      if (!name.endsWith(".pub")) parseCertificates(text, name);
    } else if (name.endsWith(".key")) {
      wholePem(text);
      await parsePrivateKey(text, name);
    } else if (/\.(ya?ml|conf)$/.test(name)) {
      const document = parseYaml(text);
      if (document === null || typeof document !== "object") return "not a YAML mapping";
      if (name.endsWith(".conf")) return await kubeconfigProblem(document as Kubeconfig);
      if (path.includes("/manifests/")) return manifestProblem(document as Manifest);
      if (name === "config.yaml") return kubeletConfigProblem(document as KubeletConfig);
    }
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Every PEM block is opened and closed, and nothing but whitespace follows the last one. */
function wholePem(text: string): void {
  const begins = text.match(/-----BEGIN /g)?.length ?? 0;
  const blocks = decodePem(text).length;
  if (begins === 0) throw new Error("no PEM block");
  if (blocks !== begins) {
    throw new Error(`${begins} PEM blocks begin but ${blocks} end whole`);
  }
  const tail = text.slice(text.lastIndexOf("-----END ")).replace(/^-----END [A-Z0-9 ]+-----/, "");
  if (tail.trim() !== "") throw new Error("text after the last PEM block");
}

// A YAML file cut at a line boundary may still parse: each kind's fields that a whole file
// has (the last one kubeadm writes, where the order is fixed) are required.

interface Kubeconfig {
  kind?: string;
  clusters?: { cluster?: Record<string, string> }[];
  contexts?: unknown[];
  "current-context"?: string;
  users?: { user?: Record<string, string> }[];
}

/** A whole kubeconfig: its lists and context, and the certificate and key data parse. */
async function kubeconfigProblem(config: Kubeconfig): Promise<string | undefined> {
  if (config.kind !== "Config") return "kind is not Config";
  if (!config.clusters?.length || !config.contexts?.length || !config["current-context"]) {
    return "no clusters, contexts or current-context";
  }
  if (!config.users?.length) return "no users (kubeadm writes them last)";
  for (const entry of config.clusters) {
    const data = entry.cluster?.["certificate-authority-data"];
    if (data) parseCertificates(atob(data), "certificate-authority-data");
  }
  for (const entry of config.users) {
    const user = entry.user;
    const credentials = ["client-certificate", "client-certificate-data", "token", "exec"];
    if (typeof user !== "object" || !credentials.some((field) => user?.[field] !== undefined)) {
      return "a user without credentials";
    }
    const cert = user["client-certificate-data"] ?? user["client-certificate"];
    const key = user["client-key-data"] ?? user["client-key"];
    if ((cert === undefined) !== (key === undefined)) return "a client certificate without key";
    if (user["client-certificate-data"]) {
      parseCertificates(atob(user["client-certificate-data"]), "client-certificate-data");
    }
    if (user["client-key-data"]) {
      await parsePrivateKey(atob(user["client-key-data"]), "client-key-data");
    }
  }
  return undefined;
}

interface Manifest {
  kind?: string;
  metadata?: { name?: string };
  spec?: { containers?: { name?: string; image?: string; command?: string[] }[] };
  status?: unknown;
}

/** A whole static-pod manifest: a Pod with its containers, and kubeadm's closing `status`. */
function manifestProblem(manifest: Manifest): string | undefined {
  if (manifest.kind !== "Pod" || !manifest.metadata?.name) return "not a named Pod";
  const containers = manifest.spec?.containers ?? [];
  if (containers.length === 0) return "no containers";
  if (containers.some((c) => !c.name || !c.image || !c.command?.length)) {
    return "a container without name, image or command";
  }
  if (manifest.status === undefined) return "no status (kubeadm writes it last)";
  return undefined;
}

interface KubeletConfig {
  kind?: string;
  authentication?: { x509?: { clientCAFile?: string } };
  staticPodPath?: string;
}

/** A kubelet config with the fields a rotation changes and reads. */
function kubeletConfigProblem(config: KubeletConfig): string | undefined {
  if (config.kind !== "KubeletConfiguration") return "kind is not KubeletConfiguration";
  if (!config.authentication?.x509?.clientCAFile) return "no authentication.x509.clientCAFile";
  if (!config.staticPodPath) return "no staticPodPath";
  return undefined;
}

async function filesUnder(path: string): Promise<string[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  if (info.isFile) return [path];
  if (!info.isDirectory) return [];
  const files: string[] = [];
  for await (const entry of Deno.readDir(path)) {
    files.push(...await filesUnder(join(path, entry.name)));
  }
  return files;
}
