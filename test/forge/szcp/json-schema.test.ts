/**
 * JSON Schema → regex (forge/szcp/json-schema.ts). Soundness is checked by an independent
 * validator, ajv (already a dependency of the project): strings drawn at random from the
 * derived regex's own byte automaton must `JSON.parse` and validate against the schema; and
 * instances written by hand must match the regex (read back by JavaScript's RegExp, not by
 * our regex compiler). Every refusal names the JSON pointer of the keyword.
 */
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { compileJsonSchema, countDfaStates, integerRange, JSON_SCHEMA_LIMITS, JsonSchemaError } from "../../../forge/szcp/json-schema.js";
import { compileRegex, type ByteNfa } from "../../../forge/szcp/regex.js";
import { deserializeWorkflow, serializeWorkflow, SzcpError } from "../../../forge/szcp/index.js";
import { workflow, zone } from "../ttfa/fixtures.js";
import { ForgeError } from "../../../forge/errors.js";
import { seededRandom } from "../../../forge/resources/random.js";

const ajv = new Ajv({ strict: false });

/** The regex as JavaScript reads it, anchored on the whole text. */
function jsRegex(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, "u");
}

/** A random walk through the NFA from start to accept: one string the regex matches (null when the walk runs too long). */
function walk(nfa: ByteNfa, random: () => number, maxSteps = 4_000): string | null {
  const bytes: number[] = [];
  let s = nfa.start;
  for (let step = 0; step < maxSteps; step++) {
    if (s === nfa.accept) return new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(bytes));
    const eps = nfa.eps[s]!;
    const set = nfa.set[s];
    const options = eps.length + (set ? 1 : 0);
    const k = Math.floor(random() * options);
    if (k < eps.length) s = eps[k]!;
    else {
      const allowed: number[] = [];
      for (let b = 0; b < 256; b++) if (set![b]) allowed.push(b);
      bytes.push(allowed[Math.floor(random() * allowed.length)]!);
      s = nfa.to[s]!;
    }
  }
  return null;
}

const PERSON = {
  type: "object",
  properties: {
    name: { type: "string", minLength: 1, maxLength: 8 },
    age: { type: "integer", minimum: 0, maximum: 120 },
    email: { type: ["string", "null"], pattern: "[a-z]{1,5}@[a-z]{1,5}\\.com" },
    tags: { type: "array", items: { enum: ["a", "b", 3, null, { k: [1] }] }, maxItems: 3 },
    score: { type: "number" },
    pet: { $ref: "#/$defs/pet" },
  },
  required: ["name", "age"],
  additionalProperties: false,
  $defs: {
    pet: {
      oneOf: [
        { type: "object", properties: { kind: { const: "cat" }, lives: { type: "integer", exclusiveMinimum: 0, exclusiveMaximum: 10 } }, required: ["kind", "lives"] },
        { type: "object", properties: { kind: { const: "dog" }, good: { type: "boolean" } }, required: ["kind"] },
      ],
    },
  },
};

const SCHEMAS: Array<[string, object]> = [
  ["a person with optional, nested, referenced and tagged-union properties", PERSON],
  ["no property required", { type: "object", properties: { a: { type: "integer" }, b: { type: "boolean" }, c: { type: "null" } } }],
  ["an array of 2 to 4 numbers", { type: "array", items: { type: "number" }, minItems: 2, maxItems: 4 }],
  ["anyOf of overlapping branches", { anyOf: [{ type: "integer", minimum: -5, maximum: 5 }, { type: "number" }, { type: "string", maxLength: 3 }] }],
  ["negative integer ranges", { type: "integer", minimum: -1234, maximum: -7 }],
  ["a const object", { const: { a: [1, "x\"y"], b: null } }],
  ["strings with escapes, exactly 3 characters", { type: "string", minLength: 3, maxLength: 3 }],
  ["allOf of one $ref, definitions", { allOf: [{ $ref: "#/definitions/x" }], definitions: { x: { type: "boolean" } } }],
];

describe("compileJsonSchema", () => {
  for (const [name, schema] of SCHEMAS) {
    it(`derives a regex whose every match validates: ${name}`, () => {
      const { pattern, schema: text } = compileJsonSchema(JSON.stringify(schema, null, 2));
      expect(text).toBe(JSON.stringify(schema)); // stored compact
      const validate = ajv.compile(schema);
      const nfa = compileRegex(pattern, JSON_SCHEMA_LIMITS.maxPatternLength);
      const random = seededRandom(name.length);
      const re = jsRegex(pattern);
      let checked = 0;
      for (let i = 0; i < 400; i++) {
        const text = walk(nfa, random);
        if (text === null) continue;
        checked++;
        expect(re.test(text), text).toBe(true);
        const value = JSON.parse(text);
        expect(validate(value), `${text}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      }
      expect(checked).toBeGreaterThan(100);
    });
  }

  it("accepts the instances it should, in compact JSON with properties in declared order", () => {
    const re = jsRegex(compileJsonSchema(JSON.stringify(PERSON)).pattern);
    const good = [
      { name: "ada", age: 36 },
      { name: "é東", age: 0, email: null, tags: ["a", 3, null, { k: [1] }].slice(0, 3), score: -1.5e3, pet: { kind: "cat", lives: 9 } },
      { name: "x", age: 120, email: "ab@cd.com", pet: { kind: "dog" } },
      { name: "x\"\\\n", age: 7, score: 0 },
    ];
    for (const v of good) expect(re.test(JSON.stringify(v)), JSON.stringify(v)).toBe(true);
    const bad = [
      '{"age":3,"name":"x"}', // order
      '{"name":"x", "age":3}', // whitespace
      '{"name":"","age":3}', // minLength
      '{"name":"x","age":121}',
      '{"name":"x","age":01}',
      '{"name":"x","age":3,"pet":{"kind":"cat","lives":10}}',
      '{"name":"x","age":3,"tags":["a","a","a","a"]}',
      '{"name":"x","age":3,"extra":1}',
      '{"name":"x"}',
    ];
    for (const s of bad) expect(re.test(s), s).toBe(false);
  });

  it("spells integer ranges exactly", () => {
    for (const [lo, hi] of [[0, 0], [0, 9], [7, 123], [-50, 50], [-1000, -1], [99, 1001], [5, 5], [-3, 0]] as const) {
      const re = jsRegex(integerRange(BigInt(lo), BigInt(hi)));
      for (let n = lo - 30; n <= hi + 30; n++) expect(re.test(String(n)), `${n} in [${lo}, ${hi}]`).toBe(n >= lo && n <= hi);
      expect(re.test("-0")).toBe(false);
      expect(re.test("00")).toBe(false);
    }
  });

  const refusals: Array<[string, unknown, string, RegExp]> = [
    ["an unsupported keyword", { type: "object", properties: { n: { type: "integer", multipleOf: 3 } } }, "#/properties/n/multipleOf", /"multipleOf" is not supported for type integer/],
    ["format", { type: "string", format: "email" }, "#/format", /"format" is not supported/],
    ["a keyword of another type", { type: "string", minimum: 1 }, "#/minimum", /not supported for type string/],
    ["any value", { type: "array", items: {} }, "#/items", /allows any value/],
    ["no type", { properties: { a: { type: "null" } } }, "#", /has no "type"/],
    ["a recursive $ref", { $defs: { n: { type: "array", items: { $ref: "#/$defs/n" } } }, $ref: "#/$defs/n" }, "#/$defs/n/items/$ref", /recursive/],
    ["a remote $ref", { $ref: "https://example.com/s.json" }, "#/$ref", /only local \$refs/],
    ["a dangling $ref", { $ref: "#/$defs/none" }, "#/$ref", /points at nothing/],
    ["a required property not declared", { type: "object", properties: {}, required: ["a"] }, "#/required/0", /not in properties/],
    ["overlapping oneOf", { oneOf: [{ type: "integer" }, { type: "number" }] }, "#/oneOf/1", /may both match/],
    ["oneOf of equal objects spelled in another key order", { oneOf: [{ const: { a: 1, b: [2] } }, { enum: [{ b: [2], a: 1 }] }] }, "#/oneOf/1", /may both match/],
    ["a pattern that can match a quote", { type: "string", pattern: "a.b" }, "#/pattern", /can match ", \\ or a control character/],
    ["a pattern outside the subset", { type: "string", pattern: "(?<=a)b" }, "#/pattern", /outside the regex subset/],
    ["pattern with lengths", { type: "string", pattern: "a+", maxLength: 3 }, "#/pattern", /cannot be intersected/],
    ["an empty integer range", { type: "integer", minimum: 5, maximum: 4 }, "#", /no integer lies between/],
    ["maxLength over the bound", { type: "string", maxLength: 5000 }, "#/maxLength", /maxRepeat = 1000/],
    ["an unknown type", { type: "str" }, "#/type", /unknown type "str"/],
    ["invalid JSON", "{", "#", /not valid JSON/],
    ["false", false, "#", /allows no value/],
    ["nesting past the bound", nest(20), "#" + "/items".repeat(17), /deeper than JSON_SCHEMA_LIMITS.maxDepth = 16/],
    ["an automaton past the state bound", { type: "array", items: { type: "string", maxLength: 200 }, maxItems: 40 }, "#", /maxDfaStates = 4096|maxNfaStates/],
    ["too many properties", { type: "object", properties: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`p${i}`, { type: "null" }])) }, "#/properties", /maxProperties = 64/],
    ["a schema text over the bound", { type: "string", description: "x".repeat(70_000) }, "#", /maxSchemaLength = 65536/],
  ];
  for (const [name, schema, pointer, message] of refusals) {
    it(`refuses ${name} at ${pointer}`, () => {
      let error: unknown;
      try {
        compileJsonSchema(typeof schema === "string" ? schema : JSON.stringify(schema));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(JsonSchemaError);
      expect(error).toBeInstanceOf(ForgeError);
      const e = error as JsonSchemaError;
      expect(e.pointer).toBe(pointer);
      expect(e.where).toBe(pointer);
      expect(e.message).toMatch(message);
      expect(e.code).toBe("json_schema_unsupported");
    });
  }

  it("`.` and negated classes match exactly the well-formed UTF-8 characters, in 7 DFA states inside a character", () => {
    const nfa = compileRegex("[^a]");
    const matches = (bytes: number[]) => {
      const close = (states: number[]) => {
        const seen = new Set<number>();
        const stack = [...states];
        while (stack.length) {
          const x = stack.pop()!;
          if (seen.has(x)) continue;
          seen.add(x);
          stack.push(...nfa.eps[x]!);
        }
        return [...seen];
      };
      let cur = close([nfa.start]);
      for (const b of bytes) cur = close(cur.filter((x) => nfa.set[x]?.[b]).map((x) => nfa.to[x]!));
      return cur.includes(nfa.accept);
    };
    const enc = new TextEncoder();
    for (const c of ["b", "é", "€", "\ud7ff", "\ue000", "\uffff", "😀", "\u{10ffff}"]) expect(matches(Array.from(enc.encode(c))), c).toBe(true);
    // Overlong forms, surrogates, past U+10FFFF, stray continuation bytes, truncated sequences.
    for (const bad of [[0xc0, 0xaf], [0xc1, 0xbf], [0xe0, 0x80, 0xaf], [0xe0, 0x9f, 0xbf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf0, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0x80], [0xe2, 0x82], [0x61]])
      expect(matches(bad), bad.map((b) => b.toString(16)).join(" ")).toBe(false);
    expect(countDfaStates(nfa, 100)).toBe(10); // start, 7 inside a character, 2 accepting (after an ASCII byte, after a last continuation byte)
  });

  it("counts DFA states, stopping past the bound", () => {
    expect(countDfaStates(compileRegex("abc"), 100)).toBe(4);
    expect(countDfaStates(compileRegex("[ab]{0,50}"), 10)).toBe(11);
  });

  it("refuses a pattern with nested repetitions on the work bound within seconds (was accepted after 12 s)", () => {
    const started = performance.now();
    const schema = JSON.stringify({ type: "string", pattern: "([a-z]{0,100}){40}" });
    expect(() => compileJsonSchema(schema)).toThrow(JsonSchemaError);
    expect(() => compileJsonSchema(schema)).toThrow(/^#: building the derived automaton takes more than REGEX_LIMITS\.maxSubsetWork = 16777216 steps/);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

function nest(depth: number): object {
  let s: object = { type: "null" };
  for (let i = 0; i < depth; i++) s = { type: "array", items: s };
  return s;
}

describe("json_schema constraints in SZCP", () => {
  function issuesOf(constraint: unknown): string[] {
    const w = workflow([zone({ text: "Q? ", zone: 1, next: 1 }), zone({ text: "", zone: 1 })]);
    (w.zones[0] as Record<string, unknown>).constraint = constraint;
    try {
      const back = deserializeWorkflow(JSON.stringify(w));
      expect(back.zones[0]!.constraint).toEqual(constraint);
      expect(JSON.parse(serializeWorkflow(back)).zones[0].constraint).toEqual(constraint); // the serializer keeps the kind and both fields
    } catch (e) {
      if (e instanceof SzcpError) return e.issues.map((i) => `${i.path}: ${i.message}`);
      throw e;
    }
    return [];
  }
  it("accepts the schema with its own derived pattern, and refuses any other pattern or an unsupported schema at its JSON path", () => {
    const { schema, pattern } = compileJsonSchema('{"type":"boolean"}');
    expect(issuesOf({ kind: "json_schema", schema, pattern })).toEqual([]);
    expect(issuesOf({ kind: "json_schema", schema, pattern: "(?:true|false|maybe)" }).join("\n")).toMatch(/\$\.zones\[0\]\.constraint\.pattern: the pattern is not the regex derived from the schema/);
    expect(issuesOf({ kind: "json_schema", schema: '{"type":"string","format":"date"}', pattern: "x" }).join("\n")).toMatch(/\$\.zones\[0\]\.constraint\.schema: JSON schema #\/format: "format" is not supported/);
    expect(issuesOf({ kind: "json_schema", schema: "x".repeat(70_000), pattern: "x" }).join("\n")).toMatch(/maxJsonSchemaLength/);
  });
});
