/** Errors of setting up where requests run: a backend's configuration, a server's or session's target. */
import { ForgeError } from "../errors.js";

/** `makeBackend` was given something it cannot use (an unknown type, a tokenizer too large for the model, a missing model folder). */
export class BackendConfigError extends ForgeError {
  readonly code: string = "backend_config";
  constructor(
    /** The call and argument at fault, e.g. "makeBackend(options.type)". */
    readonly where: string,
    message: string,
  ) {
    super(`${where}: ${message}`);
    this.name = "BackendConfigError";
  }
}
