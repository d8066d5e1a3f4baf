/**
 * ca-rotator's version — the release (semantic versioning, CHANGELOG.md) and the commit of the
 * checkout it runs from — printed by `version` and `--version`.
 * @module
 */

/** The release of this ca-rotator (semantic versioning; CHANGELOG.md says what each holds). */
export const VERSION = "0.2.0";

/** What `version` reports. */
export interface VersionInfo {
  readonly version: string;
  /** The checkout's commit (40 hex digits), or `unknown` outside a git checkout. */
  readonly commit: string;
  /** Whether the checkout has uncommitted changes to tracked files. */
  readonly dirty: boolean;
  readonly deno: string;
}

/** The version, with the commit of the checkout `main.ts` is in (asked of git, if there). */
export async function versionInfo(
  moduleUrl: string = new URL("../../main.ts", import.meta.url).href,
): Promise<VersionInfo> {
  const info = { version: VERSION, commit: "unknown", dirty: false, deno: Deno.version.deno };
  if (!moduleUrl.startsWith("file:")) return info;
  const dir = new URL(".", moduleUrl).pathname;
  const git = async (...args: string[]) => {
    try {
      const out = await new Deno.Command("git", {
        args: ["-C", dir, ...args],
        stdout: "piped",
        stderr: "null",
      }).output();
      return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
    } catch {
      return undefined; // no git on this machine
    }
  };
  const commit = await git("rev-parse", "HEAD");
  if (!commit || !/^[0-9a-f]{40}$/.test(commit)) return info;
  const status = await git("status", "--porcelain", "--untracked-files=no");
  return { ...info, commit, dirty: status !== undefined && status !== "" };
}

/** `ca-rotator 0.2.0 (commit 0123456789ab, deno 2.9.6)`, `+dirty` after a changed checkout's. */
export function versionLine(info: VersionInfo): string {
  const commit = info.commit === "unknown"
    ? "commit unknown"
    : `commit ${info.commit.slice(0, 12)}${info.dirty ? "+dirty" : ""}`;
  return `ca-rotator ${info.version} (${commit}, deno ${info.deno})`;
}
