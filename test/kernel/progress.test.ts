import { describe, expect, it } from "vitest";
import type { Progress } from "../../forge/api/ambient.js";
import { CellOutput, ProgressDisplay, summaryLine } from "../../kernel/output/index.js";

const progress = (streamsDone: number, finished = false): Progress => ({
  streamsDone,
  streams: 10,
  step: streamsDone * 3,
  tokens: streamsDone * 100,
  tokensPerSecond: 500,
  elapsedMs: streamsDone * 200,
  etaMs: (10 - streamsDone) * 200,
  finished,
});

describe("progress display", () => {
  it("shows one display, throttles updates in place, and ends with the summary", async () => {
    const sent: { type: string; content: any }[] = [];
    const output = new CellOutput((type, content) => sent.push({ type, content }), () => null);
    let now = 0;
    const display = new ProgressDisplay(() => output, 250, () => now);
    for (let done = 1; done <= 9; done++) {
      now += 100; // 9 reports, 100 ms apart
      display.report(progress(done));
    }
    display.report(progress(10, true));
    await output.settled();
    expect(sent[0]!.type).toBe("display_data");
    const id = sent[0]!.content.transient.display_id;
    const updates = sent.slice(1);
    expect(updates.every((m) => m.type === "update_display_data" && m.content.transient.display_id === id)).toBe(true);
    // Reports at 100..900 ms: the first shows, then one every ≥250 ms (400, 700), then the final summary.
    expect(updates).toHaveLength(3);
    expect(sent[1]!.content.data["text/plain"]).toBe("▶ 4/10 streams done · 400 tokens · 500 tokens/s · 1.2 s left");
    expect(updates.at(-1)!.content.data["text/plain"]).toBe(summaryLine(progress(10, true)));
    expect(summaryLine(progress(10, true))).toBe("✔ 10/10 streams · 1,000 tokens in 2.0 s (500 tokens/s, 30 steps)");
  });

  it("says when a request stopped early", () => {
    expect(summaryLine({ ...progress(4, true) })).toMatch(/^⏹ 4\/10 streams/);
  });
});
