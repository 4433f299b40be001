import { describe, expect, it } from "vitest";
import { CellOutput, MAX_CELL_STREAM_CHARS } from "../../../kernel/output/index.js";

/** A CellOutput whose iopub messages are kept in a list (the publishing is what is tested). */
function recorded() {
  const messages: Array<{ type: string; content: { name: string; text: string } }> = [];
  const output = new CellOutput((type, content) => messages.push({ type, content: content as { name: string; text: string } }), () => null);
  const shown = () => messages.filter((m) => !m.content.text.startsWith("\n[output cut")).reduce((n, m) => n + m.content.text.length, 0);
  return { output, messages, shown };
}

describe("CellOutput streams (session 7: a cell's 100 MB print went out as one 100 MB iopub message)", () => {
  it("publishes up to MAX_CELL_STREAM_CHARS of a cell's text, then says once that the rest is cut, and counts it", () => {
    const { output, messages, shown } = recorded();
    output.stream("stdout", "x".repeat(MAX_CELL_STREAM_CHARS - 10));
    output.stream("stderr", "y".repeat(30));
    for (let i = 0; i < 5; i++) output.stream("stdout", "z".repeat(1000));
    expect(shown()).toBe(MAX_CELL_STREAM_CHARS);
    expect(messages.map((m) => [m.content.name, m.content.text.length])).toEqual([
      ["stdout", MAX_CELL_STREAM_CHARS - 10],
      ["stderr", 10],
      ["stderr", messages[2]!.content.text.length],
    ]);
    expect(messages[2]!.content.text).toMatch(/output cut: this cell printed more than MAX_CELL_STREAM_CHARS = 16777216 characters; the rest is not shown/);
    expect(output.charactersLeftOut).toBe(20 + 5000);
  });

  it("still sends the kernel's own reports past the bound (a stray error is never lost)", () => {
    const { output, messages } = recorded();
    output.stream("stdout", "x".repeat(MAX_CELL_STREAM_CHARS + 1));
    output.stream("stderr", "Uncaught exception …", true);
    expect(messages.at(-1)!.content).toEqual({ name: "stderr", text: "Uncaught exception …" });
  });
});
