import { ForgeError } from "../forge/errors.js";

/** A chart asked for something the run or the options cannot give; the message says which chart and what. */
export class VizError extends ForgeError {
  readonly code: string = "viz_invalid";
  constructor(chart: string, detail: string) {
    super(`${chart}: ${detail}`);
    this.name = "VizError";
  }
}
