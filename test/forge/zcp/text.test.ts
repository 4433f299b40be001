import { describe, expect, it } from "vitest";
import { parseTemplate, scanTriggers, splitZones, type TriggerPatterns } from "../../../forge/zcp/index.js";

const SINGLE: TriggerPatterns = { zoneTokens: ["[Prompt]", "[Answer]", "[EOS]"], controlToken: "[Jump]", escape: { kind: "single", token: "[Escape]" } };
const PAIR: TriggerPatterns = { ...SINGLE, escape: { kind: "pair", open: "<esc>", close: "</esc>" } };

const zoneTexts = (text: string, p: TriggerPatterns): string[] => splitZones(text, p).pieces.map((r) => text.slice(r.start, r.end));

describe("splitZones", () => {
  it("a prompt ending at [Answer] leaves the answer zone to generation", () => {
    expect(zoneTexts("[Prompt] Q [Answer]", SINGLE)).toEqual(["[Prompt] Q [Answer]", ""]);
  });

  it("a fully forced block: text before [Prompt] belongs to zone 0, zone 1 ends with [EOS]", () => {
    expect(zoneTexts("\n[Prompt] Q [Answer] A\n[EOS]", SINGLE)).toEqual(["\n[Prompt] Q [Answer]", " A\n[EOS]"]);
  });

  it("text that stops before [Answer] leaves the rest of zone 0 and all of zone 1 to generation", () => {
    expect(zoneTexts("[Prompt] Q", SINGLE)).toEqual(["[Prompt] Q", ""]);
  });

  it("trailing whitespace after the last token is dropped; other text is an error", () => {
    expect(zoneTexts("[Prompt] Q [Answer] A [EOS]\n", SINGLE)).toEqual(["[Prompt] Q [Answer]", " A [EOS]"]);
    expect(splitZones("[Prompt] Q [Answer] A [EOS] more", SINGLE).issues[0].message).toMatch(/never be fed/);
  });

  it("an escaped zone token is not a split point (the escape reaches the next pattern, not only an adjacent one)", () => {
    expect(zoneTexts('[Prompt] see [Escape] "[Answer]" here [Answer] ok', SINGLE)).toEqual(['[Prompt] see [Escape] "[Answer]" here [Answer]', " ok"]);
  });

  it("an escape escapes an escape: the second [Escape] is neutral and [Answer] splits", () => {
    expect(zoneTexts("[Prompt] [Escape][Escape] [Answer] x", SINGLE)).toEqual(["[Prompt] [Escape][Escape] [Answer]", " x"]);
  });

  it("a pair region protects every pattern inside it", () => {
    expect(zoneTexts("[Prompt] <esc>[Answer] [EOS] [Jump]</esc> [Answer] y", PAIR)).toEqual(["[Prompt] <esc>[Answer] [EOS] [Jump]</esc> [Answer]", " y"]);
    expect(splitZones("[Prompt] <esc>[Jump]</esc> [Answer]", PAIR).issues).toEqual([]);
  });

  it("out-of-order or repeated zone tokens are errors", () => {
    const issue = splitZones("[Prompt] [EOS] [Answer]", SINGLE).issues[0];
    expect(issue).toMatchObject({ severity: "error", expected: '"[Answer]"', found: '"[EOS]"', offset: 9 });
    expect(splitZones("[Prompt] a [Answer] b [Answer]", SINGLE).issues[0].found).toBe('"[Answer]"');
  });

  it("[Prompt] may be left out; [Answer] then opens zone 1", () => {
    const split = splitZones("context [Answer] reply", SINGLE);
    expect(split.present).toEqual([false, true, false]);
    expect(zoneTexts("context [Answer] reply", SINGLE)).toEqual(["context [Answer]", " reply"]);
  });
});

describe("scanTriggers", () => {
  it("matches as a streaming matcher: earliest end, no overlap, restart after a match", () => {
    const p: TriggerPatterns = { zoneTokens: ["ab", "bcd"], controlToken: "c", escape: null };
    // "abcd": "ab" ends first (at 2); then "c" ends at 3 (bcd overlaps the consumed "b").
    expect(scanTriggers("abcd", p).matches.map((m) => m.pattern)).toEqual(["ab", "c"]);
  });

  it("warns about unescaped control patterns only", () => {
    expect(scanTriggers("[Jump] [Escape] [Jump]", SINGLE).issues.map((i) => [i.severity, i.offset])).toEqual([["warning", 0]]);
  });

  it("reports unbalanced pair escapes", () => {
    expect(scanTriggers("<esc> open", PAIR).issues[0]).toMatchObject({ severity: "error", found: "end of text" });
    expect(scanTriggers("x </esc>", PAIR).issues[0]).toMatchObject({ severity: "error", offset: 2 });
  });
});

describe("parseTemplate", () => {
  it("splits literals and placeholders; {{ and }} are literal braces", () => {
    expect(parseTemplate("a {x} {{b}} {y-z}").segments).toEqual([
      { kind: "literal", text: "a " },
      { kind: "placeholder", name: "x", offset: 2 },
      { kind: "literal", text: " {b} " },
      { kind: "placeholder", name: "y-z", offset: 12 },
    ]);
  });

  it("braces inside a pattern occurrence are literal", () => {
    const text = "go {T} {n}";
    const { segments, issues } = parseTemplate(text, 0, [{ start: 3, end: 6 }]);
    expect(issues).toEqual([]);
    expect(segments).toEqual([{ kind: "literal", text: "go {T} " }, { kind: "placeholder", name: "n", offset: 7 }]);
  });

  it("an unmatched brace says so, with its offset", () => {
    const { issues } = parseTemplate("json {\"a\": 1}", 10);
    expect(issues[0]).toMatchObject({ severity: "error", offset: 15 });
    expect(issues[0].message).toMatch(/unmatched '\{'.*'\{\{'/);
  });
});
