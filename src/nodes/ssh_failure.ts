/**
 * What went wrong on an ssh round trip, told in the operator's words and naming the host: the
 * ssh client's own failures (exit 255: unreachable, refused key, changed or unknown host key),
 * sudo asking for a password, and a full disk.
 * @module
 */
import type { CommandResult } from "./node_io.ts";

/** Why an ssh round trip failed. */
export type SshFailureKind =
  | "unreachable"
  | "key-refused"
  | "host-key-changed"
  | "host-key-unknown"
  | "sudo-password"
  | "disk-full"
  | "missing-file"
  | "command";

/** A failed ssh round trip, naming the host. */
export class SshError extends Error {
  /** The node's name. */
  readonly host: string;
  readonly kind: SshFailureKind;

  constructor(host: string, kind: SshFailureKind, message: string) {
    super(message);
    this.name = "SshError";
    this.host = host;
    this.kind = kind;
  }
}

/** Where a host is reached, for messages. */
export interface SshTarget {
  readonly name: string;
  readonly address: string;
  readonly port?: number;
  readonly user?: string;
  readonly identityFile?: string;
  readonly knownHostsFile?: string;
}

/** `name (user@address:port)`. */
export function describeTarget(target: SshTarget): string {
  const login = `${target.user ? `${target.user}@` : ""}${target.address}${
    target.port ? `:${target.port}` : ""
  }`;
  return `${target.name} (${login})`;
}

/** Classifies a failed result: the kind and a sentence saying what to do, or the command's own error. */
export function classifyFailure(
  result: CommandResult,
  target: SshTarget,
): { kind: SshFailureKind; reason: string } {
  const stderr = result.stderr;
  const lastLine = stderr.trim().split("\n").filter((line) => line.trim() !== "").at(-1) ?? "";
  if (result.code === 255) {
    if (/REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed/i.test(stderr)) {
      return {
        kind: "host-key-changed",
        reason:
          `its host key does not match the one pinned in ${
            target.knownHostsFile ?? "known_hosts"
          } (the host key changed, or another machine answers at this address); ` +
          "nothing was sent to it",
      };
    }
    if (/Host key verification failed|No \S+ host key is known/i.test(stderr)) {
      return {
        kind: "host-key-unknown",
        reason: `its host key is not pinned in ${target.knownHostsFile ?? "known_hosts"}; ` +
          "nothing was sent to it",
      };
    }
    if (/Permission denied \(/i.test(stderr)) {
      return {
        kind: "key-refused",
        reason: `the host refused the key${
          target.identityFile ? ` ${target.identityFile}` : ""
        } for user ${target.user ?? "(default)"} (${lastLine.trim()})`,
      };
    }
    if (
      /Connection refused|No route to host|timed out|Network is unreachable|Could not resolve|Connection closed by|Connection reset/i
        .test(stderr)
    ) {
      return { kind: "unreachable", reason: `the host is unreachable (${lastLine.trim()})` };
    }
    if (/Identity file .* not accessible|No such file or directory/i.test(stderr)) {
      return { kind: "missing-file", reason: lastLine.trim() };
    }
  }
  if (
    /sudo: (a password is required|a terminal is required)|may not run sudo|is not in the sudoers/i
      .test(stderr)
  ) {
    return {
      kind: "sudo-password",
      reason: `sudo asks for a password (${lastLine.trim()}); allow the user ` +
        `${target.user ?? "(default)"} to run commands with sudo without one (NOPASSWD)`,
    };
  }
  if (/No space left on device|Disk quota exceeded/i.test(stderr)) {
    return { kind: "disk-full", reason: `the disk is full (${lastLine.trim()})` };
  }
  if (/No such file or directory/i.test(stderr)) {
    return { kind: "missing-file", reason: lastLine.trim() };
  }
  return { kind: "command", reason: `exit ${result.code}: ${stderr.trim() || "(no output)"}` };
}
