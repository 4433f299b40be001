/** SZCP `zones[i].constraint` from an untrusted client: the schema checks it and names the JSON path. */
import { describe, expect, it } from "vitest";
import { deserializeWorkflow, SzcpError } from "../../../forge/szcp/index.js";
import { workflow, zone } from "../ttfa/fixtures.js";

function issuesOf(constraint: unknown, extra: Record<string, unknown> = {}): string[] {
  const w = workflow([zone({ text: "Q? ", zone: 1, next: 1, ...extra }), zone({ text: "", zone: 1 })], { tools: ["search"] });
  (w.zones[0] as Record<string, unknown>).constraint = constraint;
  try {
    deserializeWorkflow(JSON.stringify(w));
  } catch (e) {
    if (e instanceof SzcpError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
}

describe("SZCP constraint", () => {
  it("accepts choices, a regex, null and absence", () => {
    expect(issuesOf({ kind: "choices", choices: ["yes", "no"] })).toEqual([]);
    expect(issuesOf({ kind: "regex", pattern: "\\d+" })).toEqual([]);
    expect(issuesOf(null)).toEqual([]);
    expect(issuesOf(undefined)).toEqual([]);
  });
  it("refuses bad ones, naming the path", () => {
    expect(issuesOf({ kind: "choices", choices: [] }).join("\n")).toMatch(/\$\.zones\[0\]\.constraint\.choices/);
    expect(issuesOf({ kind: "choices", choices: ["a", "a"] }).join("\n")).toMatch(/\$\.zones\[0\]\.constraint\.choices\[1\]: choice 1 \("a"\) appears twice/);
    expect(issuesOf({ kind: "regex", pattern: "(" }).join("\n")).toMatch(/\$\.zones\[0\]\.constraint\.pattern: unclosed \(/);
    expect(issuesOf({ kind: "regex", pattern: "a".repeat(5000) }).join("\n")).toMatch(/maxRegexLength/);
    expect(issuesOf({ kind: "grammar", text: "x" }).join("\n")).toMatch(/\$\.zones\[0\]\.constraint/);
    expect(issuesOf({ kind: "choices", choices: ["a"] }, { feed: "search" }).join("\n")).toMatch(/\$\.zones\[0\]\.constraint: a feed zone cannot be constrained/);
  });
});
