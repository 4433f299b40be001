import { ForgeError } from "../../forge/errors.js";

/** Errors of the training stage: bad options or corpus settings, named by field. */
export class TrainingError extends ForgeError {
  readonly code: string = "training_invalid";
  constructor(message: string) {
    super(message);
    this.name = "TrainingError";
  }
}
