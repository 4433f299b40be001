/**
 * Multi-token forced feeding: a stream inside a forced run (prompt text known in advance)
 * feeds up to `chunk` tokens in one forward, while the others generate. The automaton still
 * takes the forced tokens one by one, so triggers and events fire at the right token; only
 * the forward is shared.
 */
import type { StepRecord } from "../../ttfa/index.js";
import type { SlotTable } from "./slots.js";

/** What the host does with one recorded step of a slot: "fed" goes into the next forward, "held" waits (a tool), "ended". */
export type SlotState = "fed" | "held" | "ended";

/**
 * After a slot's step left it `state`: while its next step is forced and the chunk has room,
 * take that step too (`next`, null when the next step is not forced) and hand it to `absorb`;
 * each fed one joins `extra`. Returns the slot's state after the last step taken.
 */
export function feedForcedRun(
  state: SlotState,
  chunk: number,
  extra: number[],
  next: () => StepRecord | null,
  absorb: (record: StepRecord) => SlotState,
): SlotState {
  while (state === "fed" && chunk > 1 && extra.length + 1 < chunk) {
    const record = next();
    if (record === null) break;
    state = absorb(record);
    if (state === "fed") extra.push(record.token);
  }
  return state;
}

/** Widest feed of the next forward: 1, or 1 + the most extra forced tokens an active stream holds. */
export function feedWidth(table: SlotTable): number {
  let width = 1;
  for (let s = 0; s < table.size; s++) if (table.active[s]) width = Math.max(width, 1 + table.extra[s]!.length);
  return width;
}

/** The chunk forward's input: row-major [rows, width], each active row its last token then its extras; fed[r] of them real. */
export function chunkInput(table: SlotTable, width: number): { tokens: Int32Array; fed: Int32Array } {
  const rows = table.rows;
  const tokens = new Int32Array(rows.length * width);
  const fed = new Int32Array(rows.length);
  rows.forEach((s, r) => {
    if (!table.active[s]) return;
    tokens[r * width] = table.lastToken[s]!;
    tokens.set(table.extra[s]!, r * width + 1);
    fed[r] = 1 + table.extra[s]!.length;
  });
  return { tokens, fed };
}
