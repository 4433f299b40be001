import fc from "fast-check";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { formatPath, TomlLocator } from "../../../forge/udpl/index.js";

const DOC = `# a comment with [fake] = header
[config]
zone_tokens = [
  "[P]",   # first
  "[A]",
]
"quoted key" = 1
inline = { a = 1, "b c" = { d = [1, 2] } }

[[seq]]
text = """
[not.a.header]
fake = "key inside a string \\""" still"
"""
tags = [[], ["x", 'y']]
[seq.ph]
name = "r"

[[seq]]
text = '''literal [x] = 1'''
dotted.key = 2

[[deep.list]]
v = 1
[[deep.list]]
v = 2
`;

describe("TomlLocator", () => {
  const loc = new TomlLocator(DOC);
  const lines = DOC.split("\n");
  const pos = (needle: string, occurrence = 0): { line: number; column: number } => {
    let seen = 0;
    for (let i = 0; i < lines.length; i++) {
      const col = lines[i].indexOf(needle);
      if (col >= 0 && seen++ === occurrence) return { line: i + 1, column: col + 1 };
    }
    throw new Error(needle);
  };

  it("the fixture is valid TOML", () => {
    expect(() => parse(DOC)).not.toThrow();
  });

  it("finds table headers and keys", () => {
    expect(loc.find(["config"])).toEqual(pos("[config]"));
    expect(loc.find(["config", "zone_tokens"])).toEqual(pos("zone_tokens"));
    expect(loc.find(["config", "quoted key"])).toEqual(pos('"quoted key"'));
  });

  it("finds array elements across lines", () => {
    expect(loc.find(["config", "zone_tokens", 0])).toEqual(pos('"[P]"'));
    expect(loc.find(["config", "zone_tokens", 1])).toEqual(pos('"[A]"'));
  });

  it("finds keys inside inline tables, quoted and nested", () => {
    expect(loc.find(["config", "inline", "a"])).toEqual(pos("a = 1"));
    expect(loc.find(["config", "inline", "b c", "d", 1])).toEqual(pos("2]"));
  });

  it("indexes arrays of tables and their sub-tables", () => {
    expect(loc.find(["seq", 0])).toEqual(pos("[[seq]]"));
    expect(loc.find(["seq", 1])).toEqual(pos("[[seq]]", 1));
    expect(loc.find(["seq", 0, "tags", 1, 1])).toEqual(pos("'y'"));
    expect(loc.find(["seq", 0, "ph"])).toEqual(pos("[seq.ph]"));
    expect(loc.find(["seq", 0, "ph", "name"])).toEqual(pos('name = "r"'));
    expect(loc.find(["seq", 1, "dotted", "key"])).toEqual(pos("dotted.key"));
    expect(loc.find(["deep", "list", 1, "v"])).toEqual(pos("v = 2"));
  });

  it("is not fooled by headers and keys inside multi-line strings", () => {
    expect(loc.find(["not", "a", "header"])).toBeNull();
    expect(loc.find(["seq", 0, "fake"])).toBeNull();
    expect(loc.find(["seq", 0, "tags"])).toEqual(pos("tags = "));
  });

  it("nearest falls back to the closest ancestor, then to 1:1", () => {
    expect(loc.nearest(["seq", 0, "missing", "deeper"])).toEqual(pos("[[seq]]"));
    expect(loc.nearest(["nowhere"])).toEqual({ line: 1, column: 1 });
  });

  it("formats paths", () => {
    expect(formatPath(["conclusion", 0, "tags", 1, 0])).toBe("conclusion[0].tags[1][0]");
    expect(formatPath(["config", "quoted key"])).toBe('config."quoted key"');
  });

  it("works the same on CRLF line endings", () => {
    const crlf = new TomlLocator(DOC.replace(/\n/g, "\r\n"));
    expect(crlf.find(["seq", 0, "tags", 1, 1])).toEqual(pos("'y'"));
    expect(crlf.find(["deep", "list", 1, "v"])).toEqual(pos("v = 2"));
  });

  it("terminates and returns a position on any text, TOML or not", () => {
    const pieces = fc.constantFrom("[", "]", "[[", "]]", "=", '"', "'", '"""', "'''", "{", "}", ",", "\n", "#", "a", "b.c", " ", "\\");
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 60 }), fc.array(fc.oneof(fc.constantFrom("a", "b", "c"), fc.nat({ max: 3 })), { maxLength: 4 }), (parts, path) => {
        const position = new TomlLocator(parts.join("")).nearest(path);
        expect(position.line).toBeGreaterThanOrEqual(1);
        expect(position.column).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 1000, seed: 5 },
    );
  });
});
