import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { Progress } from "../../forge/engine/progress.js";
import { CellOutput, ProgressDisplay, progressBundle, progressLine, summaryLine, timeLeftMs } from "../../kernel/output/index.js";

/** A run of 10 streams: 1 of every 3 tokens generated, the rest forced (prompts). */
const progress = (streamsDone: number, finished = false, extra: Partial<Progress> = {}): Progress => ({
  streamsDone,
  streams: 10,
  step: streamsDone * 3,
  tokens: streamsDone * 300,
  tokensPerSecond: 1500,
  generatedTokens: streamsDone * 100,
  forcedTokens: streamsDone * 200,
  generatedTokensPerSecond: 500,
  fraction: streamsDone / 10,
  elapsedMs: streamsDone * 200,
  etaMs: null,
  finished,
  ...extra,
});

describe("progress display", () => {
  it("shows one display, throttles updates in place, and ends with the summary", async () => {
    const sent: { type: string; content: any }[] = [];
    const output = new CellOutput((type, content) => sent.push({ type, content }), () => null);
    let now = 0;
    const display = new ProgressDisplay(() => output, 250, () => now);
    for (let done = 1; done <= 9; done++) {
      now += 100; // 9 reports, 100 ms apart
      display.report(progress(done, false, { elapsedMs: done * 1000 }));
    }
    display.report(progress(10, true));
    await output.settled();
    expect(sent[0]!.type).toBe("display_data");
    const id = sent[0]!.content.transient.display_id;
    const updates = sent.slice(1);
    expect(updates.every((m) => m.type === "update_display_data" && m.content.transient.display_id === id)).toBe(true);
    // Reports at 100..900 ms: the first shows, then one every ≥250 ms (400, 700), then the final summary.
    expect(updates).toHaveLength(3);
    // 40 % done after 4 s: 6 s left, estimated from the fraction (the engine gave no etaMs).
    expect(sent[1]!.content.data["text/plain"]).toBe("▶ 4/10 streams done · 40 % · 400 generated (500/s) + 800 forced tokens · step 12 · 4.0 s, about 6.0 s left");
    expect(sent[1]!.content.data["text/html"]).toContain('<progress value="400" max="1000"');
    expect(updates.at(-1)!.content.data["text/plain"]).toBe(summaryLine(progress(10, true)));
    expect(summaryLine(progress(10, true))).toBe("✔ 10/10 streams · 1,000 generated + 2,000 forced tokens in 2.0 s (500 generated tokens/s, 30 steps)");
  });

  it("says something useful from the first report: no streams done yet, generated tokens, elapsed time", () => {
    const first = progress(0, false, { step: 4, generatedTokens: 256, forcedTokens: 4096, tokens: 4352, fraction: 0.004, elapsedMs: 300 });
    expect(progressLine(first)).toBe("▶ 0/10 streams done · 0 % · 256 generated (500/s) + 4,096 forced tokens · step 4 · 0.3 s, estimating time left");
    // Too early: no guess, even when the engine has one; later the engine's (steps left × time per step).
    expect(timeLeftMs({ ...first, etaMs: 40_000 })).toBeNull();
    expect(timeLeftMs({ ...first, elapsedMs: 2000, fraction: 0.5, etaMs: 1500 })).toBe(1500);
    expect(timeLeftMs({ ...first, elapsedMs: 2000, fraction: 0.5, etaMs: null })).toBe(2000);
    expect(progressLine({ ...first, elapsedMs: 1500, fraction: 0.25 })).toMatch(/25 % · .* 1\.5 s, about 4\.5 s left$/);
  });

  it("without the engine's fraction: an indeterminate bar, the total tokens, and the engine's own estimate if any", () => {
    // An older engine's report (through the server), without the token split and fraction the engine now always sends.
    const old = { streamsDone: 2, streams: 8, step: 40, tokens: 5000, tokensPerSecond: 900, elapsedMs: 3000, etaMs: null, finished: false } as Progress;
    expect(progressLine(old)).toBe("▶ 2/8 streams done · 5,000 tokens (900/s) · step 40 · 3.0 s, estimating time left");
    expect(progressBundle(old)["text/html"]).toContain("<progress max=\"1000\"");
    expect(progressLine({ ...old, etaMs: 9000 })).toMatch(/about 9\.0 s left$/);
  });

  it("says when a request stopped early, with a glyph DejaVu has (■, not ⏹)", () => {
    const line = summaryLine({ ...progress(4, true) });
    expect(line).toMatch(/^■ stopped: 4\/10 streams · 400 generated \+ 800 forced tokens in 0\.8 s/);
    for (const text of [line, summaryLine(progress(10, true)), progressLine(progress(3))]) expect(text).not.toMatch(/[\u23e9-\u23fa]/u);
  });
});

describe("the progress glyphs", () => {
  it("are all in DejaVu Sans Mono, the monospace font Debian installs by default (fc-list)", (context) => {
    const probe = spawnSync("fc-list", ["--version"], { encoding: "utf8" });
    if (probe.error) {
      console.log("skipped: fc-list (fontconfig) is not installed here, so the fonts cannot be asked");
      context.skip();
    }
    const dejavu = spawnSync("fc-list", [":family=DejaVu Sans Mono", "family"], { encoding: "utf8" }).stdout;
    if (!dejavu.includes("DejaVu Sans Mono")) {
      console.log("skipped: DejaVu Sans Mono is not installed here");
      context.skip();
    }
    const lines = [progressLine(progress(3)), summaryLine(progress(10, true)), summaryLine(progress(4, true))];
    const glyphs = new Set([...lines.join("")].filter((c) => c.codePointAt(0)! > 0x7f));
    expect(glyphs.size).toBeGreaterThan(0);
    for (const glyph of glyphs) {
      const hex = glyph.codePointAt(0)!.toString(16).padStart(4, "0");
      const families = spawnSync("fc-list", [`:charset=${hex}`, "family"], { encoding: "utf8" }).stdout;
      expect(families, `U+${hex} ${glyph} is not in DejaVu Sans Mono`).toContain("DejaVu Sans Mono");
    }
  });
});
