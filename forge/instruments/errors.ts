import { ForgeError } from "../errors.js";

/** A research instrument asked for something it cannot measure (bad option, token out of range). */
export class InstrumentError extends ForgeError {
  readonly code: string = "instrument_invalid";
  override readonly name = "InstrumentError";
}
