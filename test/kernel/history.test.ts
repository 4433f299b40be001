import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HistoryStore, globToRegExp } from "../../kernel/history/index.js";

describe("history store", () => {
  it("keeps sessions apart and answers tail, range and search", () => {
    const file = join(mkdtempSync(join(tmpdir(), "forge-history-")), "h.sqlite");
    const first = new HistoryStore(file);
    first.record(1, "a = 1");
    first.record(2, "a + 1");
    first.recordOutput(2, "2");
    first.close();
    const second = new HistoryStore(file);
    expect(second.session).toBe(first.session + 1);
    second.record(1, "a + 1");
    second.record(2, "b");
    expect(second.query({ output: false, hist_access_type: "tail", n: 3 })).toEqual([
      [first.session, 2, "a + 1"],
      [second.session, 1, "a + 1"],
      [second.session, 2, "b"],
    ]);
    expect(second.query({ output: true, hist_access_type: "range", session: -1, start: 2, stop: 3 })).toEqual([[first.session, 2, ["a + 1", "2"]]]);
    expect(second.query({ output: false, hist_access_type: "range", session: 0, start: 1, stop: 2 })).toEqual([[second.session, 1, "a + 1"]]);
    expect(second.query({ output: false, hist_access_type: "search", pattern: "a*" })).toHaveLength(3);
    expect(second.query({ output: false, hist_access_type: "search", pattern: "a*", unique: true })).toEqual([
      [first.session, 1, "a = 1"],
      [second.session, 1, "a + 1"],
    ]);
    expect(second.query({ output: false, hist_access_type: "search", pattern: "a*", n: 1 })).toEqual([[second.session, 1, "a + 1"]]);
    second.close();
  });

  it("matches globs like IPython: *, ? and [] over the whole source", () => {
    expect(globToRegExp("6*7").test("6*7")).toBe(true);
    expect(globToRegExp("6*7").test("16*7")).toBe(false);
    expect(globToRegExp("x?").test("xy")).toBe(true);
    expect(globToRegExp("[ab]c").test("bc")).toBe(true);
    expect(globToRegExp("a.b").test("axb")).toBe(false);
  });
});
