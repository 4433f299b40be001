/** A chart asked for something the run or the options cannot give; the message says which chart and what. */
export class VizError extends Error {
  constructor(chart: string, detail: string) {
    super(`${chart}: ${detail}`);
    this.name = "VizError";
  }
}
