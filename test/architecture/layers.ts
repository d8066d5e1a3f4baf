/**
 * The layer table of src/: the one truth `layers_test.ts` enforces on every import and
 * `architecture_doc_test.ts` holds docs/architecture.md's diagram and table to.
 * @module
 */

/**
 * The folders (or single files, `folder/file.ts`) each folder of src/ may import, besides itself.
 * The engine owns the contracts its adapters satisfy (src/kube, src/state, src/nodes): the
 * adapters that sit below it (kube, nodes) do not import it, and it imports of them only the
 * plain data shapes its contracts speak of.
 */
export const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  cli: ["app", "engine", "plan", "diff", "kubelet", "pki"],
  app: [
    "rollback",
    "steps",
    "state",
    "kube",
    "nodes",
    "kubelet",
    "engine",
    "formats",
    "plan",
    "pki",
    "diff",
  ],
  rollback: ["steps", "state", "kubelet", "engine", "formats", "plan", "pki"],
  steps: ["kubelet", "engine", "formats", "plan", "pki"],
  state: ["engine", "plan", "pki"],
  kube: ["plan", "pki"],
  nodes: ["plan"],
  kubelet: ["engine", "formats", "plan", "pki"],
  diff: ["engine", "pki"],
  engine: ["plan", "kube/objects.ts", "nodes/node_io.ts"],
  formats: ["pki"],
  plan: [],
  pki: [],
};

/** The folder an entry of {@link MAY_IMPORT} names: `kube/objects.ts` → `kube`. */
export const folderOfEntry = (entry: string): string => entry.split("/")[0];
