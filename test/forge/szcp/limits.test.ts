/**
 * SZCP_LIMITS (issue #15 item 1): every size-like field is bounded, an issue over one names
 * the JSON path and the limit, the sliced validation a server uses agrees with the plain one,
 * and a workflow just inside every limit still validates.
 */
import { describe, expect, it } from "vitest";
import {
  SZCP_LIMITS,
  SzcpError,
  deserializeWorkflow,
  deserializeWorkflowInSlices,
  isSealed,
  sealWorkflow,
  workflowHash,
  type SzcpWorkflow,
} from "../../../forge/szcp/index.js";
import { tinySeedProgram } from "../../helpers/workflows.js";

const base = tinySeedProgram(4, 2).factory();
const edited = (change: (w: SzcpWorkflow) => void): SzcpWorkflow => {
  const w = structuredClone(base);
  change(w);
  return w;
};
const error = (value: unknown): SzcpError => {
  try {
    deserializeWorkflow(value);
  } catch (err) {
    return err as SzcpError;
  }
  throw new Error("accepted");
};
const manyZones = (n: number) => edited((w) => (w.zones = Array.from({ length: n }, (_, i) => ({ ...base.zones[0]!, next: i + 1 < n ? i + 1 : -1, loop: null, jump: null }))));

describe("SZCP_LIMITS", () => {
  const over: Array<[string, (w: SzcpWorkflow) => void, string, keyof typeof SZCP_LIMITS]> = [
    ["counters", (w) => (w.counters = SZCP_LIMITS.maxCounters + 1), "$.counters", "maxCounters"],
    ["counters past 2^53", (w) => (w.counters = 1e20), "$.counters", "maxCounters"],
    ["a jump target", (w) => (w.zones[0]!.next = 2 ** 40), "$.zones[0].next", "maxZones"],
    ["maxGen", (w) => (w.zones[0]!.maxGen = SZCP_LIMITS.maxCount + 1), "$.zones[0].maxGen", "maxCount"],
    ["a pattern's UTF-8 bytes", (w) => (w.config.controlToken = "€".repeat(22)), "$.config.controlToken", "maxPatternBytes"],
    ["an advance pattern", (w) => (w.zones[0]!.advance = "x".repeat(65)), "$.zones[0].advance", "maxPatternBytes"],
    ["zone text", (w) => (w.zones[0]!.text = "x".repeat(SZCP_LIMITS.maxTextLength + 1)), "$.zones[0].text", "maxTextLength"],
    ["tags per zone", (w) => (w.zones[0]!.tags = Array.from({ length: SZCP_LIMITS.maxTags + 1 }, (_, i) => `t${i}`)), "$.zones[0].tags", "maxTags"],
    ["distinct tags", (w) => w.zones.forEach((z, i) => (z.tags = Array.from({ length: 40 }, (_, k) => `z${i}t${k}`))), "$.zones", "maxTags"],
    ["tools", (w) => (w.config.tools = Array.from({ length: SZCP_LIMITS.maxTools + 1 }, (_, i) => `tool${i}`)), "$.config.tools", "maxTools"],
    ["a name", (w) => (w.extractions[0]!.name = "n".repeat(SZCP_LIMITS.maxNameLength + 1)), "$.extractions[0].name", "maxNameLength"],
    ["tokenizerOverride entries", (w) => (w.config.tokenizerOverride = Object.fromEntries(Array.from({ length: SZCP_LIMITS.maxRecordEntries + 1 }, (_, i) => [`k${i}`, "v"]))), "$.config.tokenizerOverride", "maxRecordEntries"],
    ["a meta value", (w) => (w.meta = { note: "v".repeat(SZCP_LIMITS.maxRecordValueLength + 1) }), "$.meta.note", "maxRecordValueLength"],
    ["total text", (w) => { const text = "x".repeat(SZCP_LIMITS.maxTextLength); w.zones = Array.from({ length: 17 }, (_, i) => ({ ...w.zones[0]!, text, loop: null, jump: null, next: i + 1 < 17 ? i + 1 : -1 })); }, "$.zones", "maxTotalTextLength"],
  ];
  for (const [what, change, path, limit] of over) {
    it(`refuses ${what} over ${limit}, naming ${path}`, () => {
      const err = error(edited(change));
      expect(err.path).toBe(path);
      expect(err.limit).toEqual({ name: limit, value: SZCP_LIMITS[limit] });
      expect(err.message).toContain(`SZCP_LIMITS.${limit} = ${SZCP_LIMITS[limit]}`);
    });
  }

  it("refuses more zones than maxZones", () => {
    const err = error(manyZones(SZCP_LIMITS.maxZones + 1));
    expect([err.path, err.limit?.name]).toEqual(["$.zones", "maxZones"]);
  });

  it("accepts a workflow at the limits", () => {
    const w = manyZones(SZCP_LIMITS.maxZones);
    w.counters = SZCP_LIMITS.maxCounters;
    w.config.controlToken = "J".repeat(SZCP_LIMITS.maxPatternBytes);
    w.zones[0]!.maxGen = SZCP_LIMITS.maxCount;
    expect(deserializeWorkflow(w).zones).toHaveLength(SZCP_LIMITS.maxZones);
  });
});

describe("deserializeWorkflowInSlices", () => {
  it("gives what deserializeWorkflow gives, pausing between slices of zones", async () => {
    const w = manyZones(2500);
    let pauses = 0;
    const sliced = await deserializeWorkflowInSlices(JSON.parse(JSON.stringify(w)), async () => void pauses++, 1000);
    expect(sliced).toEqual(deserializeWorkflow(w));
    expect(pauses).toBeGreaterThanOrEqual(3);
  });

  it("fails with the same first path and limit", async () => {
    for (const bad of [edited((w) => (w.counters = 1e15)), edited((w) => (w.zones[1]!.maxGen = 0)), edited((w) => (w.zones[2]!.next = 99)), { format: "x" }, null]) {
      const plain = (() => {
        try {
          deserializeWorkflow(bad);
        } catch (err) {
          return err as SzcpError;
        }
      })()!;
      const sliced = await deserializeWorkflowInSlices(bad, async () => {}).then(
        () => null,
        (err: SzcpError) => err,
      );
      expect(sliced).toBeInstanceOf(SzcpError);
      expect([sliced!.path, sliced!.limit]).toEqual([plain.path, plain.limit]);
    }
  });
});

describe("sealed workflows", () => {
  it("are frozen through and keep the hash of their canonical form", () => {
    const sealed = sealWorkflow(deserializeWorkflow(base));
    expect(isSealed(sealed)).toBe(true);
    expect(Object.isFrozen(sealed.zones[0]!.tags)).toBe(true);
    expect(() => {
      (sealed.zones[0] as { maxGen: number }).maxGen = 9;
    }).toThrow(TypeError);
    expect(workflowHash(sealed)).toBe(workflowHash(base));
  });
});

describe("the constraints of a workflow are checked within one budget (session 7)", () => {
  /** n zones, zone i constrained by `constraint(i)`. */
  const constrained = (n: number, constraint: (i: number) => object) =>
    edited((w) => (w.zones = Array.from({ length: n }, (_, i) => ({ ...base.zones[0]!, next: i + 1 < n ? i + 1 : -1, loop: null, jump: null, constraint: constraint(i) as SzcpWorkflow["zones"][number]["constraint"] }))));

  it("refuses distinct regexes past maxConstraintNfaStates in all, naming the zone and the limit (64 of ~60 000 states took ~75 ms each, with no bound on their number)", async () => {
    // Each regex builds ~62 000 states (under REGEX_LIMITS.maxNfaStates alone); 17 of them pass 2^20 together.
    const w = constrained(64, (i) => ({ kind: "regex", pattern: `(a{1000}){31}${"b".repeat(i + 1)}` }));
    const started = performance.now();
    const err = error(w);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(err.limit).toEqual({ name: "maxConstraintNfaStates", value: SZCP_LIMITS.maxConstraintNfaStates });
    expect(err.path).toMatch(/^\$\.zones\[1[0-9]\]\.constraint\.pattern$/);
    expect(err.message).toMatch(/checking the workflow's constraints builds more than SZCP_LIMITS\.maxConstraintNfaStates = 1048576 automaton states in all/);
    const sliced = await deserializeWorkflowInSlices(JSON.parse(JSON.stringify(w)), async () => {}).then(
      () => null,
      (e: SzcpError) => e,
    );
    expect([sliced?.path, sliced?.limit]).toEqual([err.path, err.limit]);
  });

  it("checks a constraint repeated over many zones once", () => {
    const w = constrained(2000, () => ({ kind: "regex", pattern: "(a{1000}){31}" })); // 2000 × 62 000 states if each were built
    const started = performance.now();
    expect(deserializeWorkflow(w).zones).toHaveLength(2000);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("refuses distinct json_schemas past maxConstraintSubsetWork in all", () => {
    // ([a-z]{0,45}){10} as a string pattern: ~3.5 M steps each, under REGEX_LIMITS.maxSubsetWork alone.
    // Distinct texts (the description differs), one derived pattern.
    const schema = (i: number) => JSON.stringify({ type: "string", pattern: "([a-z]{0,45}){10}", description: `variant ${i}` });
    const w = constrained(12, (i) => ({ kind: "json_schema", schema: schema(i), pattern: '"(?:([a-z]{0,45}){10})"' }));
    const started = performance.now();
    const err = error(w);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(err.limit).toEqual({ name: "maxConstraintSubsetWork", value: SZCP_LIMITS.maxConstraintSubsetWork });
    expect(err.message).toMatch(/checking the workflow's json_schema constraints takes more than SZCP_LIMITS\.maxConstraintSubsetWork = 16777216 steps in all/);
  });
});
