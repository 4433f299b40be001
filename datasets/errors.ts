/**
 * Errors of the datasets stage. Every message says where (file, table, row, field) and
 * what was wrong, so a bad row or a wrong path is found without a stack trace.
 */
import { ForgeError } from "../forge/errors.js";

export class DatasetError extends ForgeError {
  readonly code: string = "dataset_invalid";
  constructor(
    /** Where it went wrong: a file path, `samples row 12, field "stream"`, `run r1`… */
    readonly where: string,
    readonly detail: string,
  ) {
    super(`${where}: ${detail}`);
    this.name = "DatasetError";
  }
}
