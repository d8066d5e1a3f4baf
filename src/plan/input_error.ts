/**
 * Errors that are the user's input, not the cluster's doing: the commands exit with code 2.
 * It sits with the plan format, the lowest layer, so that every layer can raise it.
 * @module
 */

/** An error that is the user's input, not the cluster: exit code 2, nothing changed. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}
