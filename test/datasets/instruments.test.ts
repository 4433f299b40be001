/**
 * tokensTable and decisionsTable written as Arrow IPC and JSON Lines and read back by an
 * independent reader (nodejs-polars; apache-arrow's own IPC reader for the decisions' exact
 * column): one row per token with its logprobs (null where the token was forced), the top
 * alternatives as lists, one row per decision with whether its pJump is exact.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tableFromIPC } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { decisionsTable, exportTable, readArrow, tokensTable } from "../../datasets/index.js";
import { ByteTokenizer } from "../../forge/index.js";
import type { Run } from "../../forge/run/index.js";
import { sampleRun } from "./fixtures.js";
import { polarsReadIpcFile, polarsReadJsonl } from "./polars.js";

/** The fixture run with logprobs laid along its traces (forced steps NaN) and two decisions. */
function runWithInstruments(): Run {
  const run = sampleRun();
  for (const s of run.streams) {
    const n = s.tokens.length;
    const model = new Float32Array(n).fill(Number.NaN);
    const sampling = new Float32Array(n).fill(Number.NaN);
    const hazard = new Float32Array(n).fill(Number.NaN);
    const ids = new Int32Array(n * 2).fill(-1);
    const logprobs = new Float32Array(n * 2).fill(Number.NaN);
    for (let i = 0; i < n; i++) {
      if (s.forced[i]) continue;
      model[i] = -0.5 - i / 100;
      sampling[i] = -0.25 - i / 100;
      hazard[i] = i % 2 === 0 ? 0.125 : Number.NaN;
      ids.set([s.tokens[i]!, 7], i * 2);
      logprobs.set([model[i]!, -3], i * 2);
    }
    s.logprobs = { model, sampling, hazard, top: { k: 2, ids, logprobs } };
  }
  run.decisions = [
    { instance: run.streams[0]!.instance, zoneId: 1, visit: 0, step: 3, pJump: 0.25, pPath: null, outcome: "no_jump", taken: false },
    { instance: run.streams[1]!.instance, zoneId: 1, visit: 1, step: 5, pJump: 0.75, pPath: 0.5, outcome: "jump", taken: true },
  ];
  return run;
}

describe("tokensTable / decisionsTable", () => {
  const run = runWithInstruments();
  const dir = mkdtempSync(join(tmpdir(), "forge-instruments-"));

  it("write one row per token, logprobs null where forced, top-k as lists (Arrow and JSON Lines, read by polars)", async () => {
    const table = tokensTable(run);
    const total = run.streams.reduce((n, s) => n + s.tokens.length, 0);
    expect(table.numRows).toBe(total);
    const arrow = await exportTable(table, { path: join(dir, "tokens.arrow") });
    const jsonl = await exportTable(table, { path: join(dir, "tokens.jsonl") });
    for (const frame of [polarsReadIpcFile(arrow.path), polarsReadJsonl(jsonl.path)]) {
      expect(frame.rows).toHaveLength(total);
      let r = 0;
      for (const s of run.streams) {
        for (let i = 0; i < s.tokens.length; i++, r++) {
          const row = frame.rows[r]!;
          expect(row.stream).toBe(s.instance);
          expect(row.token).toBe(s.tokens[i]);
          expect(row.forced).toBe(s.forced[i] === 1);
          if (s.forced[i]) {
            expect(row.logprob).toBeNull();
            expect(row.top_ids).toBeNull();
          } else {
            expect(row.logprob).toBeCloseTo(s.logprobs!.model[i]!, 5);
            expect(row.sampling_logprob).toBeCloseTo(s.logprobs!.sampling[i]!, 5);
            expect(Array.from(row.top_ids as number[])).toEqual([s.tokens[i], 7]);
          }
        }
      }
    }
    expect((await readArrow(arrow.path)).schema.metadata.get("forge.table")).toBe("tokens");
  });

  it("add each token's text with the run's tokenizer: a character split over tokens goes to the token that completes it", async () => {
    const withText = runWithInstruments();
    // "né!" in bytes: the é is two byte tokens (0xC3 0xA9); the first stream's first tokens become these.
    const bytes = Array.from(new TextEncoder().encode("né!"));
    withText.streams[0]!.tokens.set(bytes, 0);
    const table = tokensTable(withText, { tokenizer: new ByteTokenizer() });
    const arrow = await exportTable(table, { path: join(dir, "tokens-text.arrow") });
    const rows = polarsReadIpcFile(arrow.path).rows;
    expect(rows.slice(0, 4).map((r) => r.text)).toEqual(["n", "", "é", "!"]);
    let r = 0;
    for (const s of withText.streams) {
      const pieces = rows.slice(r, r + s.tokens.length).map((row) => row.text as string);
      expect(pieces.join("")).toBe(new TextDecoder().decode(Uint8Array.from(s.tokens)));
      r += s.tokens.length;
    }
    expect(tokensTable(run).schema.fields.some((f) => f.name === "text")).toBe(false);
  });

  it("write one row per decision", async () => {
    const arrow = await exportTable(decisionsTable(run), { path: join(dir, "decisions.arrow") });
    const frame = polarsReadIpcFile(arrow.path);
    expect(frame.rows.map((r) => [r.stream, r.visit, r.p_jump, r.p_path, r.outcome, r.taken])).toEqual([
      [run.streams[0]!.instance, 0, 0.25, null, "no_jump", false],
      [run.streams[1]!.instance, 1, 0.75, 0.5, "jump", true],
    ]);
  });

  it("mark each decision's pJump exact or estimated: a run with exact decisions, one without (absent reads false)", async () => {
    const exactRun = runWithInstruments();
    exactRun.decisions = exactRun.decisions!.map((d) => ({ ...d, exact: true }));
    const estimateRun = runWithInstruments(); // records without the field, as saved before it existed
    const mixedRun = runWithInstruments();
    mixedRun.decisions = [{ ...mixedRun.decisions![0]!, exact: false }, { ...mixedRun.decisions![1]!, exact: true }];
    for (const [name, r, want] of [
      ["exact", exactRun, [true, true]],
      ["estimate", estimateRun, [false, false]],
      ["mixed", mixedRun, [false, true]],
    ] as const) {
      const arrow = await exportTable(decisionsTable(r), { path: join(dir, `decisions-${name}.arrow`) });
      const table = tableFromIPC(readFileSync(arrow.path));
      const field = table.schema.fields.find((f) => f.name === "exact")!;
      expect(String(field.type), name).toBe("Bool");
      expect(field.nullable).toBe(false);
      expect(Array.from(table.getChild("exact")!.toArray() as Iterable<boolean>), name).toEqual(want);
      expect(table.getChild("p_jump")!.toArray()[1], name).toBe(0.75);
      expect(polarsReadIpcFile(arrow.path).rows.map((row) => row.exact), name).toEqual(want);
    }
  });

  it("say how to get decisions when the run has none", () => {
    expect(() => decisionsTable(sampleRun())).toThrow(/run the request with \{ logprobs: true \}/);
  });
});
