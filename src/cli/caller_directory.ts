/**
 * The directory the caller ran ca-rotator from, against which the paths on its command line
 * (`--plan`, `--kubeconfig`, `--ca-bundle`, a relative `$KUBECONFIG`) resolve.
 * @module
 */

/** What decides the caller's directory. */
export interface CallerDirectoryInputs {
  /** The process's working directory. */
  readonly cwd: string;
  /** `$INIT_CWD`: where `deno task` (or `npm run`) was started. */
  readonly initCwd?: string;
  /** ca-rotator's own directory (that of deno.json and main.ts). */
  readonly home: string;
}

/**
 * The caller's directory: `deno task` runs ca-rotator in its own directory and says in
 * `INIT_CWD` where it was started, so there (and only there) `INIT_CWD` wins; anywhere else —
 * an installed `ca-rotator`, `deno run` from another directory — the working directory is the
 * caller's, whatever `INIT_CWD` an enclosing `npm run` or `deno task` left in the environment.
 */
export function callerDirectory(inputs: CallerDirectoryInputs): string {
  const trim = (path: string) => path.length > 1 ? path.replace(/\/+$/, "") : path;
  if (inputs.initCwd && trim(inputs.cwd) === trim(inputs.home)) return inputs.initCwd;
  return inputs.cwd;
}
