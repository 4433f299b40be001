/** A TTFA program that cannot run here (wrong tokenizer, malformed tables, bad tool output). */
export class TtfaError extends Error {
  override readonly name = "TtfaError";
}
