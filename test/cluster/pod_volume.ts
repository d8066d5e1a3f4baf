/**
 * Writes a pod volume the way the kubelet's AtomicWriter (k8s.io/kubernetes/pkg/volume/util)
 * does for projected, ConfigMap and Secret volumes: the files live in a timestamped directory
 * `..<time>`, a symlink `..data` points at it, and each visible file is a symlink
 * `<name> → ..data/<name>`. An update writes a new timestamped directory and renames a new
 * `..data` over the old one, so a reader sees either the old set of files or the new one,
 * never a mix, and a file never changes under an open handle.
 * @module
 */
import { join } from "node:path";

/** One file of a volume. */
export interface VolumeFile {
  /** Contents. */
  data: string;
  /** Permissions (default 0644, the kubelet's default mode). */
  mode?: number;
}

const DATA = "..data";

/** Reads the files of a volume written by {@linkcode writeVolume} (those under `..data`). */
export async function readVolume(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  try {
    for await (const entry of Deno.readDir(join(dir, DATA))) {
      if (entry.isFile) files[entry.name] = await Deno.readTextFile(join(dir, DATA, entry.name));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return files;
}

/**
 * Makes `dir` hold exactly `files` (plain names, no directories). Returns false, touching
 * nothing, when it already does.
 */
export async function writeVolume(
  dir: string,
  files: Record<string, VolumeFile>,
): Promise<boolean> {
  await Deno.mkdir(dir, { recursive: true });
  const names = Object.keys(files).sort();
  for (const name of names) {
    if (!name || name.startsWith("..") || name.includes("/")) {
      throw new Error(`Cannot write volume ${dir}: bad file name "${name}"`);
    }
  }
  const current = await readVolume(dir);
  const currentNames = Object.keys(current).sort();
  if (
    currentNames.join("\0") === names.join("\0") &&
    names.every((n) => current[n] === files[n].data)
  ) {
    return false;
  }
  const oldTarget = await Deno.readLink(join(dir, DATA)).catch(() => undefined);
  // The kubelet's name: "..2006_01_02_15_04_05." and a random suffix.
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:T]/g, "_");
  const tsDir = await Deno.makeTempDir({ dir, prefix: `..${stamp}.` });
  for (const name of names) {
    const path = join(tsDir, name);
    await Deno.writeTextFile(path, files[name].data, { mode: files[name].mode ?? 0o644 });
    await Deno.chmod(path, files[name].mode ?? 0o644);
  }
  await Deno.chmod(tsDir, 0o755);
  // ..data_tmp → the new directory, renamed over ..data: the switch is one rename(2).
  const tmpLink = join(dir, `${DATA}_tmp`);
  await Deno.remove(tmpLink).catch(() => {});
  await Deno.symlink(tsDir.slice(dir.length + 1), tmpLink);
  await Deno.rename(tmpLink, join(dir, DATA));
  for (const name of names) {
    if ((await readIfLink(join(dir, name))) === undefined) {
      await Deno.symlink(join(DATA, name), join(dir, name));
    }
  }
  for (const name of currentNames) {
    if (!(name in files)) await Deno.remove(join(dir, name)).catch(() => {});
  }
  if (oldTarget && oldTarget !== DATA) {
    await Deno.remove(join(dir, oldTarget), { recursive: true }).catch(() => {});
  }
  return true;
}

async function readIfLink(path: string): Promise<string | undefined> {
  try {
    return await Deno.readLink(path);
  } catch {
    return undefined;
  }
}
