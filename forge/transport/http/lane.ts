/**
 * The admission lane (issue #15 item 2): the CPU work of taking a request in — parsing its
 * JSON body, validating the workflow, compiling it for the backend — runs here, one request
 * at a time, in slices with a turn of the event loop between them. However many large or
 * hostile admissions are in flight, the loop is never held for more than one slice (the
 * largest: one JSON body of up to `limits.maxBodyBytes`, or one compile of a workflow inside
 * SZCP_LIMITS), so /health, cancels and results keep answering.
 */
export type Pause = () => Promise<void>;

/** One turn of the event loop: pending I/O (other clients) is served before the promise resolves. */
export const nextTurn: Pause = () => new Promise<void>((resolve) => setImmediate(resolve));

export class AdmissionLane {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  /** Admissions queued or in progress. */
  get size(): number {
    return this.waiting;
  }

  /** Runs `task` after every task queued before it; `task` yields with `pause()` between its slices. */
  run<T>(task: (pause: Pause) => T | Promise<T>): Promise<T> {
    this.waiting++;
    const result = this.tail.then(nextTurn).then(() => task(nextTurn));
    this.tail = result.then(
      () => this.waiting--,
      () => this.waiting--,
    );
    return result;
  }
}
