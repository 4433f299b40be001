import { ForgeError } from "../errors.js";

/** A workflow the backend cannot lower: the message names the zone and field at fault. */
export class LzcpError extends ForgeError {
  readonly code: string = "lzcp_invalid";
  override readonly name = "LzcpError";
  constructor(
    message: string,
    /** Where: e.g. "zones[3].capture" or "config.escape". */
    readonly where: string,
  ) {
    super(`${where}: ${message}`);
  }
}
