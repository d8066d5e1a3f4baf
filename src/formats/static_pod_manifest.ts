/**
 * Reads and edits a static-pod manifest (kube-apiserver.yaml, …) as the kubelet sees it: the
 * flags of its first container's command and the pod's annotations. Edits keep the rest of the
 * file, comments and order included.
 * @module
 */
import { type Document, isMap, isSeq, parseDocument, YAMLSeq } from "yaml";

function parse(text: string, path: string): Document {
  const document = parseDocument(text);
  if (document.errors.length > 0) {
    throw new Error(`${path}: not valid YAML: ${document.errors[0].message}`);
  }
  return document;
}

function commandOf(document: Document, path: string): YAMLSeq {
  const command = document.getIn(["spec", "containers", 0, "command"], true);
  if (!isSeq(command)) throw new Error(`${path}: spec.containers[0].command is missing`);
  return command as YAMLSeq;
}

/** The `--flag=value` flags of the manifest's first container, by flag name (`--client-ca-file`). */
export function manifestFlags(text: string, path = "manifest"): Map<string, string> {
  const flags = new Map<string, string>();
  for (const item of commandOf(parse(text, path), path).items) {
    const value = String((item as { value?: unknown })?.value ?? item);
    const match = /^(--[^=]+)=(.*)$/.exec(value);
    if (match) flags.set(match[1], match[2]);
  }
  return flags;
}

/** The manifest with each flag set to its value (replaced in place, or appended). */
export function setManifestFlags(
  text: string,
  flags: Readonly<Record<string, string>>,
  path = "manifest",
): string {
  const document = parse(text, path);
  const command = commandOf(document, path);
  for (const [flag, value] of Object.entries(flags)) {
    if (!flag.startsWith("--")) throw new Error(`${path}: flag "${flag}" must start with --`);
    const index = command.items.findIndex((item) =>
      String((item as { value?: unknown })?.value ?? item).startsWith(`${flag}=`)
    );
    if (index >= 0) command.set(index, `${flag}=${value}`);
    else command.add(`${flag}=${value}`);
  }
  return document.toString({ indentSeq: false });
}

/** The pod annotation `key`, when the manifest has it. */
export function manifestAnnotation(
  text: string,
  key: string,
  path = "manifest",
): string | undefined {
  const value = parse(text, path).getIn(["metadata", "annotations", key]);
  return value === undefined ? undefined : String(value);
}

/** The manifest with the pod annotation `key` set: changing it makes the kubelet restart the pod. */
export function setManifestAnnotation(
  text: string,
  key: string,
  value: string,
  path = "manifest",
): string {
  const document = parse(text, path);
  const annotations = document.getIn(["metadata", "annotations"], true);
  if (!isMap(annotations)) document.setIn(["metadata", "annotations"], document.createNode({}));
  document.setIn(["metadata", "annotations", key], value);
  return document.toString({ indentSeq: false });
}

/** What a static pod is and which node paths it mounts. */
export interface StaticPodVolumes {
  /** `metadata.name` (the mirror pod is `<name>-<node>`). */
  readonly name: string;
  /** `metadata.namespace` (`default` when absent, as the kubelet reads it). */
  readonly namespace: string;
  /** The `hostPath.path` of each volume, in order. */
  readonly hostPaths: readonly string[];
}

/** The static pod's name, namespace and hostPath volumes; undefined when the file is no Pod. */
export function staticPodVolumes(text: string, path = "manifest"): StaticPodVolumes | undefined {
  const pod = parse(text, path).toJS() as {
    kind?: unknown;
    metadata?: { name?: unknown; namespace?: unknown };
    spec?: { volumes?: { hostPath?: { path?: unknown } }[] };
  } | null;
  if (pod?.kind !== "Pod" || typeof pod.metadata?.name !== "string") return undefined;
  const volumes = Array.isArray(pod.spec?.volumes) ? pod.spec.volumes : [];
  return {
    name: pod.metadata.name,
    namespace: typeof pod.metadata.namespace === "string" ? pod.metadata.namespace : "default",
    hostPaths: volumes.flatMap((volume) =>
      typeof volume?.hostPath?.path === "string" ? [volume.hostPath.path] : []
    ),
  };
}
