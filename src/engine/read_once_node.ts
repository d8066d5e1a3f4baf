/**
 * A node whose files are read once: each path's first read is kept and answered again. For a
 * wait that re-runs checks over files nothing changes while it waits (the `verify` step), so a
 * long wait costs no remote round trip per poll.
 * @module
 */
import type { NodeAccess } from "./node_access.ts";

/** `base` with its `readFile` answered from the first read of each path; nothing else changes. */
export function readOnce(base: NodeAccess): NodeAccess {
  const reads = new Map<string, Promise<string | undefined>>();
  const readFile = (path: string) => {
    let read = reads.get(path);
    if (!read) {
      read = base.readFile(path);
      reads.set(path, read);
      read.catch(() => reads.delete(path)); // a failed read is tried again
    }
    return read;
  };
  // every other member is the base's own, called on it (a driver's private fields stay reachable)
  return new Proxy(base, {
    get(target, property) {
      if (property === "readFile") return readFile;
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
