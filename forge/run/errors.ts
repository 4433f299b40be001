/**
 * Errors of the run stage. A trace that does not fit its workflow is an engine bug or a
 * hand-edited file, never a user's prompt mistake; the message still says which stream,
 * which step and what was wrong so it can be found without a debugger.
 */
import { ForgeError } from "../errors.js";

export class RunTraceError extends ForgeError {
  readonly code: string = "run_trace";
  constructor(
    /** Position of the stream in `streams` (instance order). */
    readonly stream: number,
    /** Step index in that stream's token arrays, or null when the whole stream is at fault. */
    readonly step: number | null,
    detail: string,
  ) {
    super(`trace of stream ${stream}${step === null ? "" : `, step ${step}`}: ${detail}`);
    this.name = "RunTraceError";
  }
}

/** Statistics that cannot belong to the workflow they are merged into (a foreign or corrupted part). */
export class RunStatisticsError extends ForgeError {
  readonly code: string = "run_statistics";
  constructor(detail: string) {
    super(`cannot add the statistics: ${detail}`);
    this.name = "RunStatisticsError";
  }
}

/** A merge that would lose or repeat instances (a bug, or a foreign result on a queue). */
export class RunMergeError extends ForgeError {
  readonly code: string = "run_merge";
  constructor(message: string) {
    super(`cannot merge the parts' Runs: ${message}`);
    this.name = "RunMergeError";
  }
}
