/**
 * Time as the executor sees it (retry backoff, step timeouts). `systemClock` is real time;
 * `FakeClock` is virtual time for tests: a pending sleep fires only once every promise
 * callback has run (checked with setImmediate), earliest first, so tests of backoff and
 * timeouts are exact and take no real time.
 */
import { AbortedError } from "./errors.js";

export interface Clock {
  /** Milliseconds. */
  now(): number;
  /** Resolves after `ms`; rejects with AbortedError when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new AbortedError("sleep"));
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(new AbortedError("sleep"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  },
};

interface Timer {
  due: number;
  order: number;
  fire: () => void;
}

export class FakeClock implements Clock {
  private time = 0;
  private timers: Timer[] = [];
  private order = 0;
  private pumping = false;
  /** Every sleep requested, in ms, in request order (what backoff tests assert on). */
  readonly sleeps: number[] = [];

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new AbortedError("sleep"));
      const timer: Timer = {
        due: this.time + ms,
        order: this.order++,
        fire: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.timers = this.timers.filter((t) => t !== timer);
        reject(new AbortedError("sleep"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.timers.push(timer);
      this.schedulePump();
    });
  }

  /** Fire the earliest timer once the process is idle, then keep going while timers remain. */
  private schedulePump(): void {
    if (this.pumping) return;
    this.pumping = true;
    setImmediate(() => {
      this.pumping = false;
      if (this.timers.length === 0) return;
      this.timers.sort((a, b) => a.due - b.due || a.order - b.order);
      const next = this.timers.shift()!;
      this.time = Math.max(this.time, next.due);
      next.fire();
      if (this.timers.length > 0) this.schedulePump();
    });
  }
}
