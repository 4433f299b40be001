/** Errors of the training stage: bad options or corpus settings, named by field. */
export class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainingError";
  }
}
