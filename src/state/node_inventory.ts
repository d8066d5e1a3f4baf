/**
 * The node inventory: what the plan's nodes held, as a run with node access recorded it, so a
 * dry run without node access (`rotate --dry-run --nodes-from-inventory`) can read the nodes'
 * files from the cluster instead. For each node, each file the plan reads: its SHA-256 and its
 * content with every secret stripped (src/pki/strip_private_keys.ts), or `null` when it did not
 * exist. It never holds key material. Encoded as gzip + base64 in a ConfigMap
 * (src/state/node_inventory_configmap.ts).
 * @module
 */
import type { Progress } from "../engine/progress.ts";
import { assertNoPrivateKey } from "../pki/strip_private_keys.ts";

/** One file as recorded. */
export interface InventoryFile {
  /** SHA-256 (hex) of the file as it was on the node, secrets included. */
  readonly sha256: string;
  /** The content with every private key replaced by its stand-in, credentials by a marker. */
  readonly content: string;
  /** How many keys and credentials were taken out of it. */
  readonly stripped: number;
}

/** What the rotation had stored of one new CA when the inventory was recorded. */
export interface InventoryCa {
  readonly certPem: string;
  /** The stand-in of its key (src/pki/key_stand_in.ts): the same one its key file reads as. */
  readonly keyStandIn: string;
}

/** The whole inventory. */
export interface NodeInventory {
  /** The plan's metadata.name. */
  readonly plan: string;
  /** RFC 3339. */
  readonly recordedAt: string;
  /** Who recorded it: `host/pid` and the CI run's URL (as the run lock names its holder). */
  readonly recordedBy: string;
  /** Node name → absolute path → the file, or `null` when it did not exist. */
  readonly nodes: Readonly<Record<string, Readonly<Record<string, InventoryFile | null>>>>;
  /** The new CAs the rotation had generated and stored, by CA name (none before its first run). */
  readonly cas: Readonly<Record<string, InventoryCa>>;
}

/** The ConfigMap's largest size (etcd's 1 MiB request limit, less room for the object). */
export const INVENTORY_MAX_BYTES = 1_000_000;

/** The format version written to the ConfigMap's `format` key. */
export const INVENTORY_FORMAT = "ca-rotator.dev/node-inventory/v1";

/** The ConfigMap fields of an inventory: readable facts in `data`, the files gzipped in `binaryData`. */
export interface EncodedInventory {
  readonly data: Record<string, string>;
  readonly binaryData: Record<string, string>;
}

/**
 * Encodes an inventory for its ConfigMap (gzip, base64), refusing one that holds key material.
 * @throws {Error} naming the node and file that still holds a key, or when it is too large.
 */
export async function encodeInventory(inventory: NodeInventory): Promise<EncodedInventory> {
  assertKeyFree(inventory);
  const json = new TextEncoder().encode(JSON.stringify(inventory));
  const gzipped = await pipe(json, new CompressionStream("gzip"));
  const base64 = toBase64(gzipped);
  if (base64.length > INVENTORY_MAX_BYTES) {
    throw new Error(
      `The node inventory of plan "${inventory.plan}" is ${base64.length} bytes compressed, more ` +
        `than a ConfigMap holds (${INVENTORY_MAX_BYTES})`,
    );
  }
  const files = Object.values(inventory.nodes).reduce((n, f) => n + Object.keys(f).length, 0);
  return {
    data: {
      format: INVENTORY_FORMAT,
      plan: inventory.plan,
      recordedAt: inventory.recordedAt,
      recordedBy: inventory.recordedBy,
      nodes: Object.keys(inventory.nodes).sort().join(","),
      files: String(files),
    },
    binaryData: { "inventory.json.gz": base64 },
  };
}

/**
 * Decodes the inventory of a ConfigMap's fields.
 * @param source names the ConfigMap in error messages.
 * @throws {Error} naming the ConfigMap and the field that is missing or unreadable.
 */
export async function decodeInventory(
  encoded: { data?: Record<string, string>; binaryData?: Record<string, string> },
  source: string,
): Promise<NodeInventory> {
  if (encoded.data?.format !== INVENTORY_FORMAT) {
    throw new Error(
      `${source}: data.format is ${JSON.stringify(encoded.data?.format)}, expected ` +
        `"${INVENTORY_FORMAT}"`,
    );
  }
  const base64 = encoded.binaryData?.["inventory.json.gz"];
  if (!base64) throw new Error(`${source}: binaryData["inventory.json.gz"] is missing`);
  try {
    const json = await pipe(fromBase64(base64), new DecompressionStream("gzip"));
    const inventory = JSON.parse(new TextDecoder().decode(json)) as NodeInventory;
    if (typeof inventory.recordedAt !== "string" || typeof inventory.nodes !== "object") {
      throw new Error("recordedAt or nodes is missing");
    }
    return inventory;
  } catch (error) {
    throw new Error(
      `${source}: binaryData["inventory.json.gz"] is not a node inventory (${
        error instanceof Error ? error.message : error
      })`,
    );
  }
}

/**
 * Refuses an inventory in which any file (or CA) still holds a private key.
 * @throws {Error} `<node>:<path> still holds a private key …`.
 */
export function assertKeyFree(inventory: NodeInventory): void {
  for (const [node, files] of Object.entries(inventory.nodes)) {
    for (const [path, file] of Object.entries(files)) {
      if (file) assertNoPrivateKey(file.content, `${node}:${path}`);
    }
  }
  for (const [ca, entry] of Object.entries(inventory.cas)) {
    assertNoPrivateKey(entry.certPem + entry.keyStandIn, `the new ${ca} CA`);
  }
}

/** How old an inventory is and what an operator should know about it. */
export interface InventoryFreshness {
  readonly recordedAt: string;
  readonly recordedBy: string;
  readonly ageSeconds: number;
  /** Why it may not be what the nodes hold now (empty when nothing says so). */
  readonly warnings: readonly string[];
}

/** An inventory older than this is shown with a warning. */
export const INVENTORY_MAX_AGE_SECONDS = 24 * 3600;

/**
 * The inventory's age, with a warning when it is older than {@link INVENTORY_MAX_AGE_SECONDS}
 * or was recorded before the rotation's last recorded step (which may have changed node files).
 */
export function inventoryFreshness(
  inventory: Pick<NodeInventory, "recordedAt" | "recordedBy">,
  progress: Pick<Progress, "steps"> | undefined,
  now: Date,
): InventoryFreshness {
  const recorded = new Date(inventory.recordedAt);
  const ageSeconds = Math.max(0, Math.round((now.getTime() - recorded.getTime()) / 1000));
  const warnings: string[] = [];
  if (ageSeconds > INVENTORY_MAX_AGE_SECONDS) {
    warnings.push(
      `the node inventory is ${formatAge(ageSeconds)} old: node files may have changed since`,
    );
  }
  let last: { id: string; at: string } | undefined;
  for (const [id, step] of Object.entries(progress?.steps ?? {})) {
    const at = step.finishedAt ?? step.startedAt;
    if (at && (!last || at > last.at)) last = { id, at };
  }
  if (last && new Date(last.at).getTime() > recorded.getTime()) {
    warnings.push(
      `the node inventory was recorded before the rotation's last step (${last.id} at ` +
        `${last.at}): run \`ca-rotator inventory\` with node access`,
    );
  }
  return {
    recordedAt: inventory.recordedAt,
    recordedBy: inventory.recordedBy,
    ageSeconds,
    warnings,
  };
}

/** `3d4h`, `2h5m`, `4m10s`, `12s`. */
export function formatAge(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${m}m`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

async function pipe(bytes: Uint8Array, transform: CompressionStream | DecompressionStream) {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(transform);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
