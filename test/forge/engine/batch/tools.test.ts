/** Tool calls per slot: answers reach only the stream that asked, failures end it. */
import { describe, expect, it } from "vitest";
import { ToolCalls } from "../../../../forge/engine/batch/tools.js";
import { SlotTable } from "../../../../forge/engine/batch/slots.js";

function setup(tool: (input: string) => Promise<string> | string, timeoutMs = 1_000) {
  const table = new SlotTable(2, 0);
  table.assign(0, 0, 10);
  table.assign(1, 1, 11);
  const answers: Array<[number, string]> = [];
  const failures: Array<[number, string]> = [];
  const calls = new ToolCalls({ search: tool }, table, timeoutMs, {
    answer: (slot, output) => answers.push([slot, output]),
    fail: (slot, message) => failures.push([slot, message]),
  });
  return { table, calls, answers, failures };
}

describe("ToolCalls", () => {
  it("answers the slot that asked, and counts the call while in flight", async () => {
    const { table, calls, answers } = setup((q) => `<${q}>`);
    calls.start(1, "search", "cats");
    expect(table.pendingTools[1]).toBe(1);
    expect(calls.inFlight).toBe(1);
    await calls.any();
    await new Promise((r) => setImmediate(r));
    expect(answers).toEqual([[1, "<cats>"]]);
    expect(table.pendingTools[1]).toBe(0);
  });

  it("drops an answer for a stream whose slot has taken another instance", async () => {
    let release!: (s: string) => void;
    const { table, calls, answers, failures } = setup(() => new Promise<string>((r) => (release = r)));
    calls.start(0, "search", "x");
    await new Promise((r) => setImmediate(r));
    table.assign(0, 2, 12); // refilled
    release("late");
    await calls.any();
    await new Promise((r) => setImmediate(r));
    expect(answers).toEqual([]);
    expect(failures).toEqual([]);
    expect(table.pendingTools[0]).toBe(0); // the new stream's count is untouched
  });

  it("fails the stream of a tool that throws or times out, naming the tool", async () => {
    const thrown = setup(() => {
      throw new Error("boom");
    });
    thrown.calls.start(0, "search", "x");
    await thrown.calls.any();
    expect(thrown.failures).toEqual([[0, 'tool "search" failed: boom']]);

    const slow = setup(() => new Promise<string>(() => {}), 20);
    slow.calls.start(1, "search", "x");
    await slow.calls.any();
    expect(slow.failures).toEqual([[1, 'tool "search" failed: timed out after 20 ms']]);
  });
});
