import { ForgeError } from "../errors.js";

/** Errors a user can cause with a model folder: always name the file and the field. */
export class ModelFormatError extends ForgeError {
  readonly code: string = "model_format";
  constructor(
    /** The file at fault (config.json, model.safetensors, …). */
    readonly file: string,
    /** Field or tensor name inside it, when one is at fault. */
    readonly field: string | null,
    message: string,
  ) {
    super(field === null ? `${file}: ${message}` : `${file}: ${field}: ${message}`);
    this.name = "ModelFormatError";
  }
}

/** Misuse of the model at run time (bad shapes, positions past the context, full cache). */
export class ModelUsageError extends ForgeError {
  readonly code: string = "model_usage";
  constructor(message: string) {
    super(message);
    this.name = "ModelUsageError";
  }
}
