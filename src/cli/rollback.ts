/**
 * `rollback`: undoes the trust and switch phases of a rotation (src/app/rollback.ts), with
 * `rotate`'s flags, output and exit codes; `--dry-run` shows what it would change.
 * @module
 */
import type { Printer } from "../engine/printer.ts";
import { rollBack } from "../app/rollback.ts";
import { rotateCommand, type RotateFlags } from "./rotate.ts";

/** Runs `rollback` and returns its exit code. */
export function rollbackCommand(flags: RotateFlags, printer: Printer): Promise<number> {
  return rotateCommand(flags, printer, {
    run: rollBack,
    documentKind: "RollbackResult",
  });
}
