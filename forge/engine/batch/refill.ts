/**
 * Continuous batching: one run of `slots` streams over a queue of instances; a slot whose
 * stream finished hands its trace over and takes the next instance at once, instead of the
 * whole wave waiting for its slowest stream.
 */
import type { SlotTable } from "./slots.js";

/** The request's instances, in order, handed out one per slot start. */
export class InstanceQueue {
  private nextJob = 0;

  constructor(readonly instances: readonly number[]) {}

  get empty(): boolean {
    return this.nextJob >= this.instances.length;
  }

  /** Index of the next instance in `instances`; the queue moves on. */
  take(): number {
    if (this.empty) throw new Error("internal: the instance queue is empty");
    return this.nextJob++;
  }

  /** Indices of the instances never started. */
  left(): number[] {
    return Array.from({ length: this.instances.length - this.nextJob }, (_, k) => this.nextJob + k);
  }
}

export interface RefillHooks {
  /** Slot `s`'s finished stream hands its trace over (before the slot is reassigned). */
  retire(s: number): void;
  /** Slot `s` was assigned its next instance: reset the automaton and the cache row; true when its last token changed (it starts past a shared prefix). */
  start(s: number): boolean;
}

/** Every finished slot takes the next queued instance, in slot order. Returns whether any slot's last token changed. */
export function refillFinishedSlots(table: SlotTable, queue: InstanceQueue, hooks: RefillHooks): boolean {
  let patched = false;
  for (let s = 0; s < table.size && !queue.empty; s++) {
    if (!table.finished[s]) continue;
    hooks.retire(s);
    const job = queue.take();
    table.assign(s, job, queue.instances[job]!);
    if (hooks.start(s)) patched = true;
  }
  return patched;
}
