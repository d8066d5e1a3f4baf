/**
 * The files node access can touch to act on an emulated kubelet:
 * `touch W/var/run/kubelet/restart` restarts it (a new modification time is a new request);
 * `touch W/var/run/kubelet/rotate` forces a client-certificate rotation (the file is removed
 * once acted on).
 * @module
 */
import { join } from "node:path";
import { hostPath } from "./path_map.ts";

/** Node path of the emulated kubelet's run directory (triggers and status). */
export const KUBELET_RUN_DIR = "/var/run/kubelet";

/** The restart and rotate triggers of one node root. */
export class KubeletTriggers {
  #dir: string;
  #restartMtime: number | null = null;

  /** The triggers in the run directory of node root `root`. */
  constructor(root: string) {
    this.#dir = hostPath(root, KUBELET_RUN_DIR);
  }

  /** Creates the run directory; a restart trigger that is already there is no request. */
  async init(): Promise<void> {
    await Deno.mkdir(this.#dir, { recursive: true });
    this.#restartMtime = this.#mtime("restart");
  }

  /** Whether the restart trigger was touched since the last call (or {@linkcode init}). */
  restartRequested(): boolean {
    const mtime = this.#mtime("restart");
    if (mtime === null || mtime === this.#restartMtime) return false;
    this.#restartMtime = mtime;
    return true;
  }

  /** Whether the rotate trigger is there. */
  rotationRequested(): boolean {
    return this.#mtime("rotate") !== null;
  }

  /** Removes the rotate trigger. */
  clearRotation(): void {
    Deno.removeSync(join(this.#dir, "rotate"));
  }

  #mtime(trigger: string): number | null {
    try {
      return Deno.statSync(join(this.#dir, trigger)).mtime?.getTime() ?? 0;
    } catch {
      return null;
    }
  }
}
