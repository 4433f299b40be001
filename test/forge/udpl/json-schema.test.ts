/**
 * UDPL `json_schema` (docs/language.md#constrained-zones): the block's last zone carries
 * `{kind: "json_schema", schema, pattern}` in every repetition (repeats and tagset), the
 * workflow round-trips through SZCP, and every mistake is a UdplError at the key's
 * file:line naming the JSON pointer inside the schema.
 */
import { describe, expect, it } from "vitest";
import { parseUdpl, UdplError } from "../../../forge/udpl/index.js";
import { newProgram } from "../../../forge/sfcs/index.js";
import { deserializeWorkflow, serializeWorkflow } from "../../../forge/szcp/index.js";
import { compileJsonSchema } from "../../../forge/szcp/json-schema.js";

const CONFIG = `[config]
zone_tokens = ["[P]", "[A]", "[E]"]
valid_tags = ["t"]
sequences = ["main"]
control_token = "[J]"
`;

function parseError(text: string): UdplError {
  try {
    parseUdpl(text, { file: "j.toml" });
  } catch (err) {
    if (err instanceof UdplError) return err;
    throw err;
  }
  throw new Error("expected a UdplError");
}

describe("json_schema", () => {
  it("constrains the block's last zone in every repetition, and travels through SZCP", () => {
    const text = `${CONFIG}
[[main]]
text = "[P] Rate it. [A]"
repeats = 2
json_schema = '''
{"type": "object", "properties": {"stars": {"type": "integer", "minimum": 1, "maximum": 5}}, "required": ["stars"]}
'''

[[main]]
text = "[P] Flag? [A]"
tagset = [[[], ["t"]], [["t"], []]]
json_schema = '{"type": "boolean"}'
`;
    const { sequences, config } = parseUdpl(text, { file: "j.toml" });
    const zones = sequences.main!.zones;
    const constraints = zones.map((z) => z.constraint ?? null);
    const stars = compileJsonSchema('{"type":"object","properties":{"stars":{"type":"integer","minimum":1,"maximum":5}},"required":["stars"]}');
    const flag = compileJsonSchema('{"type":"boolean"}');
    expect(constraints).toEqual([
      null, { kind: "json_schema", ...stars },
      null, { kind: "json_schema", ...stars },
      null, { kind: "json_schema", ...flag },
      null, { kind: "json_schema", ...flag },
    ]);
    expect(stars.pattern).toBe('\\{"stars":[1-5]\\}');
    const program = newProgram(sequences, {}, config);
    program.run("main");
    const w = program.compile()();
    const json = serializeWorkflow(w);
    expect(serializeWorkflow(deserializeWorkflow(json))).toBe(json);
    expect(deserializeWorkflow(json).zones.filter((z) => z.constraint?.kind === "json_schema")).toHaveLength(4);
  });

  const cases: Array<[string, string, RegExp]> = [
    ["an unsupported keyword", `json_schema = '{"type": "object", "properties": {"n": {"type": "integer", "multipleOf": 2}}}'`, /json_schema at #\/properties\/n\/multipleOf: "multipleOf" is not supported for type integer/],
    ["invalid JSON", `json_schema = '{"type": '`, /json_schema at #: the schema is not valid JSON/],
    ["a non-string", `json_schema = 3`, /json_schema must be a string holding the schema's JSON/],
    ["json_schema with regex", `regex = 'a'\njson_schema = '{"type": "null"}'`, /at most one of choices, regex and json_schema/],
    ["a recursive $ref", `json_schema = '{"$defs": {"a": {"type": "array", "items": {"$ref": "#/$defs/a"}}}, "$ref": "#/$defs/a"}'`, /recursive/],
  ];
  for (const [name, line, message] of cases) {
    it(`refuses ${name}, at the key's line`, () => {
      const text = `${CONFIG}\n[[main]]\ntext = "[P] Q? [A]"\n${line}\n`;
      const e = parseError(text);
      expect(e.message).toMatch(message);
      expect(e.file).toBe("j.toml");
      expect(e.sequence).toBe("main");
      expect(e.block).toBe(0);
      expect(e.line).toBe(text.split("\n").findIndex((l) => l.startsWith("json_schema")) + 1);
    });
  }

  it("refuses a block whose text closes the constrained zone", () => {
    const e = parseError(`${CONFIG}\n[[main]]\ntext = "[P] Q? [A] done [E]"\njson_schema = '{"type": "null"}'\n`);
    expect(e.message).toMatch(/json_schema constrains the block's last zone, but the text closes it/);
    expect(e.line).toBe(9);
  });
});
