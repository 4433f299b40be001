/** The studio's user errors: a ForgeError with a stable code and where the mistake is. */
import { ForgeError } from "../../forge/errors.js";

export class StudioError extends ForgeError {
  readonly code: string = "studio_invalid";
  override readonly where: string;
  constructor(where: string, message: string, options?: { cause?: unknown }) {
    super(`${where}: ${message}`, options);
    this.name = "StudioError";
    this.where = where;
  }
}
