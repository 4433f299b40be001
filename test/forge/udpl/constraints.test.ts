/**
 * UDPL `choices` / `regex` block keys (docs/language.md#constrained-zones): what they make
 * (a constraint on the block's last zone, every repetition), and every mistake as a
 * UdplError at the offending key's file:line:column.
 */
import { describe, expect, it } from "vitest";
import { parseUdpl, UdplError } from "../../../forge/udpl/index.js";
import { newProgram } from "../../../forge/sfcs/index.js";
import { deserializeWorkflow, serializeWorkflow, workflowHash } from "../../../forge/szcp/index.js";

const CONFIG = `[config]
zone_tokens = ["[P]", "[A]", "[E]"]
valid_tags = ["t"]
sequences = ["main"]
control_token = "[J]"
escape_token = "[X]"
`;

function parseError(text: string): UdplError {
  try {
    parseUdpl(text, { file: "c.toml" });
  } catch (err) {
    if (err instanceof UdplError) return err;
    throw err;
  }
  throw new Error("expected a UdplError");
}

describe("choices and regex", () => {
  it("constrain the block's last zone in every repetition, and travel through SZCP", () => {
    const text = `${CONFIG}
[[main]]
text = "[P] Is it? [A]"
choices = ["yes", "no", "unsure"]
repeats = 2

[[main]]
text = "[P] How many?"
regex = '\\d{1,3}'
`;
    const { sequences } = parseUdpl(text, { file: "c.toml" });
    const zones = sequences.main!.zones;
    expect(zones.map((z) => z.constraint ?? null)).toEqual([
      null, { kind: "choices", choices: ["yes", "no", "unsure"] }, null, { kind: "choices", choices: ["yes", "no", "unsure"] },
      null, { kind: "regex", pattern: "\\d{1,3}" },
    ]);
    const program = newProgram(sequences, {}, parseUdpl(text).config);
    program.run("main");
    const w = program.compile()();
    expect(w.zones[1]!.constraint).toEqual({ kind: "choices", choices: ["yes", "no", "unsure"] });
    const json = serializeWorkflow(w);
    expect(serializeWorkflow(deserializeWorkflow(json))).toBe(json);
    // A zone without a constraint serializes as before constraints existed (hashes of old workflows hold).
    expect(JSON.parse(json).zones[0]).not.toHaveProperty("constraint");
    expect(workflowHash(w)).toMatch(/^[0-9a-f]{16}$/);
  });

  const cases: Array<[string, string, string, RegExp]> = [
    ["both keys", `choices = ["a"]\nregex = 'a'`, "regex", /at most one of choices, regex and json_schema/],
    ["an empty list", `choices = []`, "choices", /non-empty list/],
    ["a duplicate", `choices = ["a", "b", "a"]`, `"a"]`, /choice 2 \("a"\) appears twice/],
    ["an empty choice", `choices = ["a", ""]`, `""`, /choice 1 must be a non-empty string/],
    ["a non-string choice", `choices = ["a", 3]`, "choices", /list of strings/],
    ["a trigger in a choice", `choices = ["ok", "go [J] now"]`, `"go [J] now"`, /contains the trigger pattern "\[J\]"/],
    ["a regex that does not compile", `regex = 'a(b'`, "regex", /the regex does not compile: unclosed \( at offset 1/],
    ["a regex that is not a string", `regex = 3`, "regex", /regex must be a string/],
    ["json_schema allowing any value", `json_schema = '{}'`, "json_schema", /json_schema at #: a schema that allows any value has no bounded regex/],
  ];
  for (const [name, line, needle, message] of cases) {
    it(`refuses ${name}, at the key`, () => {
      const text = `${CONFIG}\n[[main]]\ntext = "[P] Q? [A]"\n${line}\n`;
      const e = parseError(text);
      expect(e.message).toMatch(message);
      expect(e.file).toBe("c.toml");
      expect(e.sequence).toBe("main");
      expect(e.block).toBe(0);
      const lines = text.split("\n");
      const row = lines.findIndex((l, i) => i > 8 && l.includes(needle.split("\n")[0]!));
      expect(e.line).toBe(row + 1);
    });
  }

  it("refuses a constraint on a block whose text closes its last zone", () => {
    const e = parseError(`${CONFIG}\n[[main]]\ntext = "[P] Q? [A] yes[E]"\nchoices = ["yes"]\n`);
    expect(e.message).toMatch(/closes it with "\[E\]", so nothing is generated there/);
    expect(e.line).toBe(10); // the choices key
  });
});
