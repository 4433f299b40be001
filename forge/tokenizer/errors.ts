/**
 * Errors of the tokenizer stage. A user mistake (a missing or malformed tokenizer.json, a bad
 * field) is a `TokenizerError` whose message names the file and, where known, the field — the
 * CLI and the workbench print the message alone, never a stack trace.
 */
import { ForgeError } from "../errors.js";

export class TokenizerError extends ForgeError {
  readonly code: string = "tokenizer_invalid";
  override readonly name = "TokenizerError";
  /** The file the problem is in ("<in-memory tokenizer.json>" when loaded from an object). */
  readonly file: string;
  /** Dotted path of the offending field (`model.vocab`, `added_tokens[3].id`), when known. */
  readonly field: string | undefined;

  constructor(file: string, message: string, field?: string) {
    super(field === undefined ? `${file}: ${message}` : `${file}: field \`${field}\`: ${message}`);
    this.file = file;
    this.field = field;
  }
}

/** Label used in errors when a tokenizer.json did not come from a file. */
export const IN_MEMORY_FILE = "<in-memory tokenizer.json>";
