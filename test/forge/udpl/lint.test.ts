/**
 * Every UDPL lint rule, broken once: each case checks the UdplError's message, the line and
 * column of the offending key or value, the sequence and block, and expected vs found.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseUdpl, parseUdplFile, parseUdplFolder, UdplError } from "../../../forge/udpl/index.js";

const CONFIG = `[config]
zone_tokens = ["[P]", "[A]", "[E]"]
required_tokens = ["[P]"]
valid_tags = ["t1", "t2"]
sequences = ["main"]
control_token = "[J]"
escape_token = "[X]"
`;
const BLOCK = `
[[main]]
text = "[P] hi [A]"
tags = [["t1"], ["t2"]]
`;
const VALID = CONFIG + BLOCK;

function positionOf(text: string, needle: string, occurrence = 0): { line: number; column: number } {
  let at = -1;
  for (let k = 0; k <= occurrence; k++) at = text.indexOf(needle, at + 1);
  if (at < 0) throw new Error(`needle ${needle} not in text`);
  const before = text.slice(0, at).split("\n");
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

function parseError(text: string): UdplError {
  try {
    parseUdpl(text, { file: "case.toml" });
  } catch (err) {
    if (err instanceof UdplError) return err;
    throw err;
  }
  throw new Error("expected the document to be rejected");
}

interface Case {
  name: string;
  text: string;
  message: RegExp;
  /** Where the error must point: this needle's (nth) occurrence. */
  at?: string;
  occurrence?: number;
  sequence?: string;
  block?: number;
  expected?: RegExp;
  found?: RegExp;
  hint?: RegExp;
}

const replaceLine = (doc: string, from: string, to: string): string => {
  if (!doc.includes(from)) throw new Error(`case setup: ${from} not found`);
  return doc.replace(from, to);
};

const cases: Case[] = [
  // ── TOML syntax ──
  { name: "':' in an inline table", text: VALID.replace('escape_token = "[X]"', 'tokenizer_override = {"eos" : "x"}'), message: /TOML syntax error/, at: ":", occurrence: 0, hint: /use = in inline tables/ },
  { name: "duplicate key", text: VALID.replace('escape_token = "[X]"', 'escape_token = "[X]"\nescape_token = "[Y]"'), message: /TOML syntax error/, at: 'escape_token = "[Y]"', hint: /duplicate key/ },
  { name: "missing quote", text: VALID.replace('text = "[P] hi [A]"', 'text = "[P] hi [A]'), message: /TOML syntax error/, hint: /missing closing quote/ },
  // ── [config] ──
  { name: "no [config]", text: BLOCK, message: /no \[config\] table/, expected: /exactly one \[config\]/ },
  { name: "unknown config field", text: replaceLine(VALID, "escape_token", "escape_tokn"), message: /unknown field "escape_tokn" in \[config\]/, at: "escape_tokn", hint: /did you mean "escape_token"/ },
  { name: "missing zone_tokens", text: replaceLine(VALID, 'zone_tokens = ["[P]", "[A]", "[E]"]\n', ""), message: /\[config\] is missing zone_tokens/, at: "[config]" },
  { name: "zone_tokens < 2", text: replaceLine(VALID, '["[P]", "[A]", "[E]"]', '["[P]"]'), message: /zone_tokens needs at least 2/, at: "zone_tokens", expected: /≥ 2/, found: /1/ },
  { name: "zone_tokens item not a string", text: replaceLine(VALID, '"[A]", "[E]"]', '3, "[E]"]'), message: /zone_tokens\[1\] must be a non-empty string/, at: "3,", found: /integer 3/ },
  { name: "duplicate zone token", text: replaceLine(VALID, '"[A]", "[E]"]', '"[A]", "[A]"]'), message: /zone_tokens lists "\[A\]" twice/, at: '"[A]"', occurrence: 1 },
  { name: "required token not a zone token", text: replaceLine(VALID, 'required_tokens = ["[P]"]', 'required_tokens = ["[Q]"]'), message: /required token "\[Q\]" is not one of zone_tokens/, at: '"[Q]"', found: /\[Q\]/ },
  { name: "valid_tags not a list", text: replaceLine(VALID, 'valid_tags = ["t1", "t2"]', 'valid_tags = "t1"'), message: /valid_tags must be a list of strings/, at: "valid_tags", found: /string "t1"/ },
  { name: "sequences missing", text: replaceLine(VALID, 'sequences = ["main"]\n', ""), message: /\[config\] is missing sequences/, at: "[config]" },
  { name: "sequences empty", text: replaceLine(VALID, 'sequences = ["main"]', "sequences = []"), message: /sequences must list at least one/, at: "sequences = []" },
  { name: "listed sequence without blocks", text: replaceLine(VALID, 'sequences = ["main"]', 'sequences = ["main", "ghost"]'), message: /sequence "ghost" is listed .* has no \[\[ghost\]\] blocks/, at: '"ghost"', sequence: "ghost" },
  { name: "control_token missing", text: replaceLine(VALID, 'control_token = "[J]"\n', ""), message: /control_token must be a non-empty string/, at: "[config]", found: /missing/ },
  { name: "control_token empty", text: replaceLine(VALID, 'control_token = "[J]"', 'control_token = ""'), message: /control_token must be a non-empty string/, at: "control_token", found: /string ""/ },
  { name: "both escape spellings", text: replaceLine(VALID, 'escape_token = "[X]"', 'escape_token = "[X]"\nescape_patterns = ["<e>", "</e>"]'), message: /either escape_token or escape_patterns, not both/, at: "escape_patterns" },
  { name: "escape_patterns with 3 items", text: replaceLine(VALID, 'escape_token = "[X]"', 'escape_patterns = ["a", "b", "c"]'), message: /escape_patterns must be a string .* or a pair/, at: "escape_patterns", found: /array of 3/ },
  { name: "escape pair with equal ends", text: replaceLine(VALID, 'escape_token = "[X]"', 'escape_patterns = ["%", "%"]'), message: /open and close patterns must differ/, at: "escape_patterns" },
  { name: "default_max_token_length 0", text: VALID.replace('escape_token = "[X]"', 'escape_token = "[X]"\ndefault_max_token_length = 0'), message: /default_max_token_length must be an integer > 0/, at: "default_max_token_length", found: /integer 0/ },
  { name: "tokenizer_override value not a string", text: VALID.replace('escape_token = "[X]"', 'escape_token = "[X]"\ntokenizer_override = { eos_token = 5 }'), message: /tokenizer_override.eos_token must be a string/, at: "eos_token", found: /integer 5/ },
  { name: "tokenizer_override not a table", text: VALID.replace('escape_token = "[X]"', 'escape_token = "[X]"\ntokenizer_override = "x"'), message: /tokenizer_override must be a table/, at: "tokenizer_override" },
  { name: "tools not a list", text: VALID.replace('escape_token = "[X]"', 'escape_token = "[X]"\ntools = "search"'), message: /tools must be a list of strings/, at: "tools" },
  { name: "control token equal to a zone token", text: replaceLine(VALID, 'control_token = "[J]"', 'control_token = "[A]"'), message: /control_token repeats the pattern of zone_tokens\[1\]/, at: "control_token" },
  // ── sequences and blocks ──
  { name: "single-bracket sequence table", text: CONFIG + '\n[main]\ntext = "[P] x"\n', message: /\[main\] is a single table/, at: "[main]", sequence: "main", expected: /\[\[main\]\]/ },
  { name: "stray top-level key", text: 'stray = 1\n' + VALID, message: /top-level key "stray" is neither/, at: "stray", sequence: "stray" },
  { name: "block without text", text: replaceLine(VALID, 'text = "[P] hi [A]"\n', ""), message: /block has no text/, at: "[[main]]", sequence: "main", block: 0 },
  { name: "text not a string", text: replaceLine(VALID, 'text = "[P] hi [A]"', "text = 42"), message: /text must be a string/, at: "text = 42", sequence: "main", block: 0, found: /integer 42/ },
  { name: "tags and tagset together", text: VALID + 'tagset = [[["t1"], []]]\n', message: /at most one of tags and tagset/, at: "tagset", sequence: "main", block: 0 },
  { name: "tagset with repeats", text: replaceLine(VALID, 'tags = [["t1"], ["t2"]]', 'tagset = [[["t1"], []]]\nrepeats = 2'), message: /repeats cannot be combined with tagset/, at: "repeats", sequence: "main", block: 0 },
  { name: "repeats 0", text: VALID + "repeats = 0\n", message: /repeats must be an integer > 0/, at: "repeats", sequence: "main", block: 0, found: /integer 0/ },
  { name: "max_gen_tokens negative", text: VALID + "max_gen_tokens = -3\n", message: /max_gen_tokens must be an integer > 0/, at: "max_gen_tokens", sequence: "main", block: 0, found: /integer -3/ },
  { name: "max_gen_tokens a float", text: VALID + "max_gen_tokens = 2.5\n", message: /max_gen_tokens must be an integer > 0/, at: "max_gen_tokens", found: /float 2.5/ },
  { name: "tags of the wrong length", text: replaceLine(VALID, 'tags = [["t1"], ["t2"]]', 'tags = [["t1"]]'), message: /tags must be a list of 2 lists/, at: 'tags = [["t1"]]', sequence: "main", block: 0, found: /array of 1/ },
  { name: "zone tags not a list", text: replaceLine(VALID, 'tags = [["t1"], ["t2"]]', 'tags = [["t1"], "t2"]'), message: /tags for zone 1 must be a list/, at: '"t2"', occurrence: 1, sequence: "main", block: 0 },
  { name: "undeclared tag", text: replaceLine(VALID, '["t2"]]', '["t3"]]'), message: /tag "t3" is not in valid_tags/, at: '"t3"', sequence: "main", block: 0, expected: /\["t1","t2"\]/, found: /"t3"/, hint: /did you mean "t1"|did you mean "t2"/ },
  { name: "undeclared tag in a tagset", text: replaceLine(VALID, 'tags = [["t1"], ["t2"]]', 'tagset = [[["t1"], []], [[], ["nope"]]]'), message: /tag "nope" is not in valid_tags/, at: '"nope"', sequence: "main", block: 0 },
  { name: "unknown block field", text: VALID + 'tag = [["t1"], []]\n', message: /unknown block field "tag"/, at: "tag = ", sequence: "main", block: 0, hint: /did you mean "tags"/ },
  { name: "error in the second block", text: VALID + '\n[[main]]\ntext = "[P] two"\ntags = [["t1"], ["bad"]]\n', message: /tag "bad"/, at: '"bad"', sequence: "main", block: 1 },
  // ── placeholders ──
  { name: "placeholder without a table", text: replaceLine(VALID, "[P] hi [A]", "[P] hi {who} [A]"), message: /placeholder \{who\} has no table \[main.who\]/, at: "text", sequence: "main", block: 0, found: /\{who\}/ },
  { name: "placeholder table without name", text: replaceLine(VALID, "[P] hi [A]", "[P] hi {who} [A]") + "[main.who]\ntype = \"standard\"\n", message: /needs name = "<resource name>"/, at: "[main.who]", sequence: "main", block: 0 },
  { name: "placeholder with a bad type", text: replaceLine(VALID, "[P] hi [A]", "[P] hi {who} [A]") + '[main.who]\nname = "r"\ntype = "dynamic"\n', message: /placeholder type must be standard, custom \(or control\) or argument/, at: 'type = "dynamic"', found: /dynamic/ },
  { name: "placeholder arguments not a table", text: replaceLine(VALID, "[P] hi [A]", "[P] hi {who} [A]") + '[main.who]\nname = "r"\narguments = 3\n', message: /placeholder arguments must be a table/, at: "arguments" },
  { name: "placeholder table with an unknown field", text: replaceLine(VALID, "[P] hi [A]", "[P] hi {who} [A]") + '[main.who]\nname = "r"\nkind = "x"\n', message: /unknown field "kind" in placeholder table \[main.who\]/, at: "kind" },
  { name: "unmatched {", text: replaceLine(VALID, "[P] hi [A]", "[P] a { b [A]"), message: /unmatched '\{' in text: write '\{\{' for a literal brace.*text line 1, column 7/, at: "text", sequence: "main", block: 0 },
  { name: "unmatched }", text: replaceLine(VALID, "[P] hi [A]", "[P] a } b [A]"), message: /unmatched '\}' in text: write '\}\}'/, at: "text" },
  // ── zones and escapes ──
  { name: "zone tokens out of order", text: replaceLine(VALID, "[P] hi [A]", "[P] hi [E] then [A]"), message: /zone token "\[E\]" is out of order/, at: "text", sequence: "main", block: 0, expected: /"\[A\]"/, found: /"\[E\]"/ },
  { name: "zone token repeated", text: replaceLine(VALID, "[P] hi [A]", "[P] hi [P] [A]"), message: /zone token "\[P\]" is out of order/, at: "text", expected: /"\[A\]"/ },
  { name: "required token missing", text: replaceLine(VALID, "[P] hi [A]", "hi [A]"), message: /lacks the required token "\[P\]"/, at: "text", sequence: "main", block: 0 },
  { name: "required token only escaped", text: replaceLine(VALID, "[P] hi [A]", "[X] [P] hi [A]"), message: /lacks the required token "\[P\]" \(or it is escaped\)/ },
  { name: "text after the last zone token", text: replaceLine(VALID, "[P] hi [A]", "[P] hi [A] yes [E] more"), message: /text after the last zone token "\[E\]" would never be fed/, at: "text", found: /more/ },
  { name: "escape pair never closed", text: replaceLine(replaceLine(VALID, 'escape_token = "[X]"', 'escape_patterns = ["<e>", "</e>"]'), "[P] hi [A]", "[P] <e> hi [A]"), message: /escape "<e>" is never closed by "<\/e>"/, at: "text", expected: /<\/e>/, found: /end of text/ },
  { name: "escape pair closed without opening", text: replaceLine(replaceLine(VALID, 'escape_token = "[X]"', 'escape_patterns = ["<e>", "</e>"]'), "[P] hi [A]", "[P] hi </e> [A]"), message: /closing escape "<\/e>" has no opening/, at: "text" },
];

describe("UDPL lint rules", () => {
  it("the base document is valid", () => {
    const { sequences, warnings } = parseUdpl(VALID, { file: "case.toml" });
    expect(sequences.main.zones.map((z) => z.tags)).toEqual([["t1"], ["t2"]]);
    expect(warnings).toEqual([]);
  });

  for (const c of cases) {
    it(`rejects: ${c.name}`, () => {
      const err = parseError(c.text);
      expect(err.message).toMatch(c.message);
      expect(err.file).toBe("case.toml");
      expect(err.message.startsWith(`case.toml:${err.line}:${err.column}: `)).toBe(true);
      if (c.at) expect({ line: err.line, column: err.column }).toEqual(positionOf(c.text, c.at, c.occurrence));
      else expect(err.line).toBeGreaterThan(0);
      if (c.sequence !== undefined) expect(err.sequence).toBe(c.sequence);
      if (c.block !== undefined) expect(err.block).toBe(c.block);
      if (c.expected) expect(err.expected).toMatch(c.expected);
      if (c.found) expect(err.found).toMatch(c.found);
      if (c.hint) expect(err.hint).toMatch(c.hint);
    });
  }
});

describe("UDPL warnings come back as a list", () => {
  const warningsOf = (text: string): string[] => parseUdpl(text, { file: "w.toml" }).warnings.map((w) => w.message);

  it("warns on an unescaped control pattern, with its position in the text", () => {
    const doc = replaceLine(VALID, "[P] hi [A]", "[P] say [J] now [A]");
    const { warnings } = parseUdpl(doc, { file: "w.toml" });
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toMatch(/control pattern "\[J\]" appears unescaped.*text line 1, column 9/);
    expect(warnings[0]).toMatchObject({ severity: "warning", sequence: "main", block: 0, file: "w.toml", ...positionOf(doc, "text") });
  });

  it("does not warn when the control pattern is escaped", () => {
    expect(warningsOf(replaceLine(VALID, "[P] hi [A]", "[P] say [X] [J] now [A]"))).toEqual([]);
  });

  it("warns on empty valid_tags", () => {
    const doc = replaceLine(replaceLine(VALID, 'valid_tags = ["t1", "t2"]', "valid_tags = []"), 'tags = [["t1"], ["t2"]]\n', "");
    expect(warningsOf(doc)).toEqual([expect.stringMatching(/valid_tags is empty/)]);
  });

  it("warns on an unlisted sequence and an unused placeholder table and a dangling escape", () => {
    const doc = VALID + '\n[[extra]]\ntext = "[P] x [X]"\n[extra.unused]\nname = "r"\n';
    const messages = warningsOf(doc);
    expect(messages).toContainEqual(expect.stringMatching(/sequence "extra" is not listed/));
    expect(messages).toContainEqual(expect.stringMatching(/\[extra.unused\] is declared but \{unused\} does not appear/));
    expect(messages).toContainEqual(expect.stringMatching(/escape token "\[X\]" at the end of the text escapes nothing/));
  });

  it("writes nothing to the console", () => {
    const spy = { calls: 0 };
    const original = console.warn;
    console.warn = () => void spy.calls++;
    try {
      warningsOf(replaceLine(VALID, "[P] hi [A]", "[P] [J] [A]"));
    } finally {
      console.warn = original;
    }
    expect(spy.calls).toBe(0);
  });
});

describe("UDPL features", () => {
  it("accepts escape_patterns as a pair: no split inside the region", () => {
    const doc = replaceLine(replaceLine(VALID, 'escape_token = "[X]"', 'escape_patterns = ["<e>", "</e>"]'), "[P] hi [A]", "[P] say <e>[A] [J]</e> ok [A] sure");
    const { sequences, warnings } = parseUdpl(doc);
    expect(warnings).toEqual([]);
    const texts = sequences.main.zones.map((z) => z.parts.map((p) => (p.kind === "literal" ? p.text : "")).join(""));
    expect(texts).toEqual(["[P] say <e>[A] [J]</e> ok [A]", " sure"]);
  });

  it("accepts escape_patterns with one string as a single escape token", () => {
    const { config } = parseUdpl(replaceLine(VALID, 'escape_token = "[X]"', 'escape_patterns = ["[X]"]'));
    expect(config.escape).toEqual({ kind: "single", token: "[X]" });
  });

  it("accepts a config without escapes", () => {
    const { config } = parseUdpl(replaceLine(VALID, 'escape_token = "[X]"\n', ""));
    expect(config.escape).toBeNull();
  });

  it("repeats copies the block; tagset sets tags per repetition", () => {
    const doc = VALID + '\n[[main]]\ntext = "[P] r [A]"\nrepeats = 3\n\n[[main]]\ntext = "[P] s [A]"\ntagset = [[["t1"], []], [[], ["t2"]]]\n';
    const zones = parseUdpl(doc).sequences.main.zones;
    expect(zones.map((z) => [z.block, z.repetition, z.zone])).toEqual([
      [0, 0, 0], [0, 0, 1],
      [1, 0, 0], [1, 0, 1], [1, 1, 0], [1, 1, 1], [1, 2, 0], [1, 2, 1],
      [2, 0, 0], [2, 0, 1], [2, 1, 0], [2, 1, 1],
    ]);
    expect(zones.slice(8).map((z) => z.tags)).toEqual([["t1"], [], [], ["t2"]]);
  });

  it("max_gen_tokens, then default_max_token_length, then 512", () => {
    const base = parseUdpl(VALID).sequences.main.zones[0].maxGen;
    expect(base).toBe(512);
    const withDefault = VALID.replace('escape_token = "[X]"', 'escape_token = "[X]"\ndefault_max_token_length = 64');
    expect(parseUdpl(withDefault).sequences.main.zones[0].maxGen).toBe(64);
    expect(parseUdpl(withDefault + "max_gen_tokens = 9\n").sequences.main.zones[1].maxGen).toBe(9);
  });

  it("reads tools, tokenizer_override and all placeholder types", () => {
    const doc =
      VALID.replace('escape_token = "[X]"', 'escape_token = "[X]"\ntools = ["search"]\ntokenizer_override = { eos_token = "[E]" }').replace("[P] hi [A]", "[P] {a} {b} {c} {d} {{literal}} [A]") +
      '[main.a]\nname = "ra"\n[main.b]\nname = "rb"\ntype = "custom"\n[main.c]\nname = "rc"\ntype = "control"\n[main.d]\nname = "rd"\ntype = "argument"\narguments = { num_samples = 2 }\n';
    const { sequences, config } = parseUdpl(doc);
    expect(config.tools).toEqual(["search"]);
    expect(config.tokenizerOverride).toEqual({ eos_token: "[E]" });
    const specs = sequences.main.blocks[0].placeholders;
    expect(Object.values(specs).map((s) => [s.placeholder, s.resource, s.type])).toEqual([
      ["a", "ra", "standard"],
      ["b", "rb", "custom"],
      ["c", "rc", "custom"],
      ["d", "rd", "argument"],
    ]);
    expect(specs.d.arguments).toEqual({ num_samples: 2 });
    const literal = sequences.main.zones[0].parts.filter((p) => p.kind === "literal").map((p) => (p.kind === "literal" ? p.text : ""));
    expect(literal.join("|")).toContain("{literal}");
  });
});

describe("UDPL files and folders", () => {
  const dir = mkdtempSync(join(tmpdir(), "udpl-"));
  const folder = (name: string, files: Record<string, string>): string => {
    const d = join(dir, name);
    mkdirSync(d);
    for (const [file, text] of Object.entries(files)) writeFileSync(join(d, file), text);
    return d;
  };

  it("parses a folder with exactly one [config]", () => {
    const d = folder("ok", {
      "a-config.toml": replaceLine(VALID, 'sequences = ["main"]', 'sequences = ["main", "other"]'),
      "b-other.toml": '[[other]]\ntext = "[P] other [A]"\n',
    });
    const { sequences } = parseUdplFolder(d);
    expect(Object.keys(sequences).sort()).toEqual(["main", "other"]);
    expect(sequences.other.file).toBe(join(d, "b-other.toml"));
  });

  it("rejects a folder with two [config] tables, naming both files", () => {
    const d = folder("two", { "a.toml": VALID, "b.toml": CONFIG });
    expect(() => parseUdplFolder(d)).toThrowError(/more than one file holds \[config\][\s\S]*a.toml, .*b.toml/);
  });

  it("rejects a folder with no [config]", () => {
    const d = folder("none", { "a.toml": BLOCK });
    expect(() => parseUdplFolder(d)).toThrowError(/no \[config\] table/);
  });

  it("rejects a sequence defined in two files, with the second file's position", () => {
    const d = folder("dup", { "a.toml": VALID, "b.toml": BLOCK });
    const err = (() => {
      try {
        parseUdplFolder(d);
      } catch (e) {
        return e as UdplError;
      }
      throw new Error("expected an error");
    })();
    expect(err).toBeInstanceOf(UdplError);
    expect(err.message).toMatch(/sequence "main" is defined in two files/);
    expect(err.file).toBe(join(d, "b.toml"));
    expect(err.line).toBe(2);
  });

  it("an error in a folder file names that file", () => {
    const d = folder("bad", { "a.toml": replaceLine(VALID, 'sequences = ["main"]', 'sequences = ["main", "other"]'), "b.toml": '[[other]]\ntext = "[P] x [A]"\ntags = [["zzz"], []]\n' });
    expect(() => parseUdplFolder(d)).toThrowError(new RegExp(`${join(d, "b.toml")}:3:10: tag "zzz"`.replace(/[.[\]]/g, "\\$&")));
  });

  it("a missing file or folder is a UdplError, not a stack trace", () => {
    expect(() => parseUdplFile(join(dir, "nope.toml"))).toThrowError(UdplError);
    expect(() => parseUdplFile(join(dir, "nope.toml"))).toThrowError(/cannot read UDPL file \(ENOENT\)/);
    expect(() => parseUdplFolder(join(dir, "nope"))).toThrowError(/cannot read UDPL folder/);
  });
});

describe("names that collide with Object.prototype are plain names", () => {
  it("sequences, placeholders and types named __proto__ / constructor", () => {
    const doc = replaceLine(VALID, 'sequences = ["main"]', 'sequences = ["main", "constructor", "__proto__"]') +
      '\n[[constructor]]\ntext = "[P] {toString} [A]"\n[constructor.toString]\nname = "hasOwnProperty"\n\n[[__proto__]]\ntext = "[P] p [A]"\n';
    const { sequences } = parseUdpl(doc);
    expect(Object.keys(sequences)).toEqual(["main", "constructor", "__proto__"]);
    expect(sequences["constructor" as string].blocks[0].placeholders["toString" as string].resource).toBe("hasOwnProperty");
    const bad = replaceLine(VALID, "[P] hi [A]", "[P] {x} [A]") + '[main.x]\nname = "r"\ntype = "constructor"\n';
    expect(() => parseUdpl(bad)).toThrowError(/placeholder type must be standard/);
  });
});
