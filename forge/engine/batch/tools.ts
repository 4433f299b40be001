/**
 * Tool calls of capture zones: a captured text goes to its tool, the answer back to the
 * slot's automaton as a feed, unless the slot has taken another stream meanwhile (epoch).
 */
import type { ToolRegistry } from "../types.js";
import type { SlotTable } from "./slots.js";

export const DEFAULT_TOOL_TIMEOUT_MS = 30_000;

export interface ToolCallHooks {
  /** The tool's answer for the stream still in `slot`. */
  answer(slot: number, output: string): void;
  /** The tool failed or timed out: the stream in `slot` ends with tool_error. */
  fail(slot: number, message: string): void;
}

export class ToolCalls {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly tools: ToolRegistry,
    private readonly table: SlotTable,
    private readonly timeoutMs: number,
    private readonly hooks: ToolCallHooks,
  ) {}

  get inFlight(): number {
    return this.pending.size;
  }

  /** Resolves when some call settles. */
  any(): Promise<void> {
    return Promise.race(this.pending);
  }

  start(slot: number, toolName: string, text: string): void {
    const tool = this.tools[toolName]!;
    const { table } = this;
    const stream = table.epoch[slot]!;
    const current = () => table.epoch[slot] === stream;
    const call = withTimeout(Promise.resolve().then(() => tool(text, { instance: table.instance[slot]!, tool: toolName })), this.timeoutMs)
      .then((output) => {
        if (current() && !table.finished[slot]) this.hooks.answer(slot, String(output));
      })
      .catch((error: unknown) => {
        if (current()) this.hooks.fail(slot, `tool "${toolName}" failed: ${error instanceof Error ? error.message : String(error)}`);
      })
      .finally(() => {
        this.pending.delete(call);
        if (current()) table.pendingTools[slot]!--;
      });
    this.pending.add(call);
    table.pendingTools[slot]!++;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer)) as Promise<T>;
}
