/**
 * The batch's per-slot state (one workflow instance per slot at a time) and the map between
 * slots and the model's batch rows. The automaton and the trace always see every slot; once
 * the batch shrinks (compaction.ts: rowsToKeep) the model computes only the rows of live
 * streams, so values go slot → row for a forward (byRow) and row → slot after it (toSlots).
 */
import type { StreamStatus } from "../../run/types.js";

export interface StreamOverride {
  status: StreamStatus;
  message: string;
}

export class SlotTable {
  /** Instance id per slot: the sampler's per-row key. */
  readonly instance: Int32Array;
  /** Index into the request's instance list of the slot's current stream (−1: never assigned). */
  readonly job: Int32Array;
  /** Tokens already in each stream's cache (the shared prefix's included). */
  readonly positions: Int32Array;
  /** Cache columns the stream wrote itself (the shared prefix is held apart). */
  readonly ownColumns: Int32Array;
  /** 1: the last emitted token is real and goes into the next forward. */
  readonly active: Uint8Array;
  /** Forced tokens emitted after the last one, fed in the same forward (feed.ts). */
  readonly extra: number[][];
  /** Recorded steps per stream: the sampler's (seed, instance, step) counter. */
  readonly streamSteps: Int32Array;
  readonly finished: Uint8Array;
  /** Bumped when a slot takes a new stream: late tool answers for the old one are dropped. */
  readonly epoch: Int32Array;
  /** How a stream ended when not by its automaton (tool error). */
  readonly overrides: Array<StreamOverride | undefined>;
  /** Generated tokens of the capture zone in progress, for its tool. */
  readonly captures: number[][];
  /** Tool calls in flight per slot. */
  readonly pendingTools: Int32Array;
  /** Host copy of each slot's last emitted token (the next forward's input). */
  readonly lastToken: Int32Array;
  /** rows[r]: the slot whose stream is the model's batch row r. */
  private rowSlots: Int32Array;
  /** The row of each slot (−1: its row was dropped). */
  private readonly slotRow: Int32Array;

  constructor(readonly size: number, padId: number) {
    this.instance = new Int32Array(size);
    this.job = new Int32Array(size).fill(-1);
    this.positions = new Int32Array(size);
    this.ownColumns = new Int32Array(size);
    this.active = new Uint8Array(size);
    this.extra = Array.from({ length: size }, () => []);
    this.streamSteps = new Int32Array(size);
    this.finished = new Uint8Array(size);
    this.epoch = new Int32Array(size);
    this.overrides = new Array(size);
    this.captures = Array.from({ length: size }, () => []);
    this.pendingTools = new Int32Array(size);
    this.lastToken = new Int32Array(size).fill(padId);
    this.rowSlots = Int32Array.from({ length: size }, (_, s) => s);
    this.slotRow = Int32Array.from({ length: size }, (_, s) => s);
  }

  /** Slot `s` takes the stream of instance `instance` (job `job`), from its first step. */
  assign(s: number, job: number, instance: number): void {
    this.job[s] = job;
    this.instance[s] = instance;
    this.finished[s] = 0;
    this.epoch[s]!++;
    this.pendingTools[s] = 0;
    this.captures[s] = [];
    this.overrides[s] = undefined;
    this.positions[s] = 0;
    this.ownColumns[s] = 0;
    this.extra[s] = [];
    this.streamSteps[s] = 0;
    this.active[s] = 0; // its first step feeds nothing: the stream's first token comes from the automaton
  }

  /** The slot of each model row, in row order. */
  get rows(): Int32Array {
    return this.rowSlots;
  }

  get rowCount(): number {
    return this.rowSlots.length;
  }

  /** The model row of slot `s`, −1 once dropped. */
  rowOf(s: number): number {
    return this.slotRow[s]!;
  }

  /** Whether every slot still has its own row (then per-slot arrays are per-row arrays as they are). */
  get fullRows(): boolean {
    return this.rowSlots.length === this.size;
  }

  /** The values of a per-slot array for the model's rows, in row order (the array itself while no row was dropped). */
  byRow<T extends Int32Array | Uint8Array>(perSlot: T): T {
    if (this.fullRows) return perSlot;
    const out = new (perSlot.constructor as new (n: number) => T)(this.rowSlots.length);
    this.rowSlots.forEach((s, r) => (out[r] = perSlot[s]!));
    return out;
  }

  /** Values per row → per slot; slots without a row get `fill`. */
  toSlots(perRow: ArrayLike<number>, fill: number): Int32Array {
    const perSlot = new Int32Array(this.size).fill(fill);
    this.rowSlots.forEach((s, r) => (perSlot[s] = perRow[r]!));
    return perSlot;
  }

  /** After a forward that fed `fed[r]` tokens to row r: the streams' positions and own columns move on, the extras are spent. */
  advance(fed: ArrayLike<number>): void {
    this.rowSlots.forEach((s, r) => {
      this.positions[s]! += fed[r]!;
      this.ownColumns[s]! += fed[r]!;
    });
    for (let s = 0; s < this.size; s++) this.extra[s] = [];
  }

  allFinished(): boolean {
    return this.finished.every((f) => f === 1);
  }

  /** Slots of the rows whose streams still run, in row order. */
  liveRowSlots(): Int32Array {
    return this.rowSlots.filter((s) => !this.finished[s]);
  }

  /** The model keeps only the rows of `slots` (in that order): the map follows. Returns their old rows, for the cache. */
  keepRows(slots: Int32Array): number[] {
    const oldRows = Array.from(slots, (s) => this.slotRow[s]!);
    this.slotRow.fill(-1);
    slots.forEach((s, r) => (this.slotRow[s] = r));
    this.rowSlots = slots;
    return oldRows;
  }

  /** The most own columns a live stream holds. */
  widestLiveColumns(): number {
    let widest = 0;
    for (let s = 0; s < this.size; s++) if (!this.finished[s]) widest = Math.max(widest, this.ownColumns[s]!);
    return widest;
  }
}
