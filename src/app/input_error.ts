/**
 * Errors that are the user's input, not the cluster's doing: the commands exit with code 2.
 * @module
 */

/** An error that is the user's input, not the cluster: exit code 2, nothing changed. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}
