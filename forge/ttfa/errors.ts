import { ForgeError } from "../errors.js";

/** A TTFA program that cannot run here (wrong tokenizer, malformed tables, bad tool output). */
export class TtfaError extends ForgeError {
  readonly code: string = "ttfa_invalid";
  override readonly name = "TtfaError";
}
