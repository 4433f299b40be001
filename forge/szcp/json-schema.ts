/**
 * `json_schema` constrained zones (docs/language.md#constrained-zones): a JSON Schema
 * compiled to a regex of our subset (forge/szcp/regex.ts), so the zone goes down the same
 * path as a `regex` zone — byte NFA → DFA → token masks (forge/ttfa/constraint.ts) — and the
 * reference interpreter, the host and the tensor automata apply the same masks.
 *
 * Why our own compiler (evaluated 2026-12-05): XGrammar's wasm build (`@mlc-ai/web-xgrammar`
 * 0.1.27, 1.1 MB of emscripten JS) installs and does take JSON Schema, but it compiles to a
 * context-free grammar matched by a stateful pushdown matcher, one per stream, asked for a
 * token bitmask at every step (async, on the host). That cannot become our byte-level regular
 * automaton, which is compiled once into a token table the tensor automaton applies on the
 * batch. llguidance and outlines-core have no npm build. So this file does what outlines'
 * `build_regex_from_schema` does, for a bounded subset: every part of the schema becomes a
 * regular expression whose every match is a valid instance (the regex may admit fewer
 * instances than the schema — never more).
 *
 * Output layout: compact JSON as `JSON.stringify` writes it — no whitespace anywhere, object
 * properties in their declared order. One fixed spelling leaves the model no loop of spaces
 * or newlines to wander into, keeps the automaton small, and every tokenizer can spell it
 * (it needs only the bytes of the JSON itself).
 *
 * Supported (anything else is refused with a JsonSchemaError naming its JSON pointer):
 * - `type`: a name or a list of names (string, integer, number, boolean, null, object, array);
 * - `enum`, `const` of any JSON value (beside them only `type` and annotations);
 * - string: `minLength`, `maxLength` (code points; the only escapes generated are the short
 *   ones, `\"` `\\` `\/` `\b` `\f` `\n` `\r` `\t`), or `pattern` when it is in
 *   our regex subset and cannot match `"`, `\` or a control character (it must match the
 *   whole string content: a subset of JSON Schema's "contains a match");
 * - integer: `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum` exactly (decimal
 *   digit ranges); without them at most JSON_SCHEMA_LIMITS.maxIntegerDigits digits;
 * - number: `-?int(.frac)?(e±exp)?` with bounded digit counts (no range keywords);
 * - object: `properties` in declared order, `required`; an optional property may be left
 *   out, the others keep their order; `additionalProperties` is accepted and never generated;
 * - array: `items`, `minItems`, `maxItems`;
 * - `anyOf`, `oneOf` (only when its branches are provably exclusive: distinct JSON types,
 *   disjoint enum/const values, or objects told apart by a required property with disjoint
 *   const/enum values), `allOf` of one schema, local `$ref` (`#/$defs/…`, `#/definitions/…`,
 *   any JSON pointer into the schema) without recursion;
 * - annotations, ignored: title, description, $comment, examples, default, deprecated,
 *   readOnly, writeOnly, $schema, $id, and `$defs`/`definitions` containers.
 */
import { ForgeError } from "../errors.js";
import { SZCP_LIMITS } from "./limits.js";
import { compileRegex, RegexError, REGEX_LIMITS, subsetConstruction, type ByteNfa, type ConstraintBudget } from "./regex.js";

export const JSON_SCHEMA_LIMITS = {
  /** UTF-16 code units of the schema's JSON text (SZCP_LIMITS.maxJsonSchemaLength). */
  maxSchemaLength: SZCP_LIMITS.maxJsonSchemaLength,
  /** Nesting of subschemas, `$ref`s followed included (the compiler and the regex parser recurse). */
  maxDepth: 16,
  /** Properties of one object (an object without required properties makes a regex quadratic in them). */
  maxProperties: 64,
  /** Values of one `enum`, branches of one `anyOf`/`oneOf`. */
  maxAlternatives: 256,
  /** UTF-16 code units of the derived regex (SZCP_LIMITS.maxJsonSchemaPatternLength). */
  maxPatternLength: SZCP_LIMITS.maxJsonSchemaPatternLength,
  /** States of the byte DFA of the derived regex (the TTFA bounds a constraint's DFA the same way). */
  maxDfaStates: 4_096,
  /** Digits of an integer without minimum/maximum, and of a number's integer and fraction parts. */
  maxIntegerDigits: 15,
  /** Digits of a number's exponent. */
  maxExponentDigits: 2,
  /** `maxLength`, `minLength`, `maxItems`, `minItems` (the regex copies the item maxLength/maxItems times). */
  maxRepeat: 1_000,
} as const;

/** A schema outside the supported subset, or over a bound; `pointer` is the JSON pointer of the keyword (`#/properties/age/multipleOf`). */
export class JsonSchemaError extends ForgeError {
  readonly code: string = "json_schema_unsupported";
  override readonly name = "JsonSchemaError";
  override readonly where: string;
  constructor(
    readonly reason: string,
    readonly pointer: string,
  ) {
    super(`${pointer}: ${reason}`);
    this.where = pointer;
  }
}

/** What a `json_schema` zone carries: the schema as compact JSON text, and the regex derived from it. */
export interface CompiledJsonSchema {
  schema: string;
  pattern: string;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const ANNOTATIONS = new Set(["title", "description", "$comment", "examples", "default", "deprecated", "readOnly", "writeOnly", "$schema", "$id", "$defs", "definitions"]);
const TYPES = ["string", "integer", "number", "boolean", "null", "object", "array"] as const;
type TypeName = (typeof TYPES)[number];
const TYPE_KEYWORDS: Record<TypeName, readonly string[]> = {
  string: ["minLength", "maxLength", "pattern"],
  integer: ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"],
  number: [],
  boolean: [],
  null: [],
  object: ["properties", "required", "additionalProperties"],
  array: ["items", "minItems", "maxItems"],
};

/**
 * One JSON string character: anything but `"`, `\` and controls, or a short escape. No `\u`
 * escapes: the model can write every character but the controls directly, each `\u` would
 * add 7 automaton states per character position (the token tables are states × vocabulary),
 * and one regex character is then exactly one code point (minLength/maxLength hold).
 */
const STRING_CHAR = String.raw`(?:[^"\\\x00-\x1f]|\\["\\/bfnrt])`;
const DIGITS = JSON_SCHEMA_LIMITS.maxIntegerDigits;
const NUMBER = `-?(?:0|[1-9][0-9]{0,${DIGITS - 1}})(?:\\.[0-9]{1,${DIGITS}})?(?:[eE][+-]?[0-9]{1,${JSON_SCHEMA_LIMITS.maxExponentDigits}})?`;
const MAX_DEFAULT_INTEGER = 10n ** BigInt(DIGITS) - 1n;

/**
 * Parse `source` (JSON text of a schema), check it against the supported subset and the
 * bounds, and derive its regex. Throws JsonSchemaError (pointer `#` for the whole schema).
 */
export function compileJsonSchema(source: string, budget?: ConstraintBudget): CompiledJsonSchema {
  if (typeof source !== "string") throw new JsonSchemaError("a JSON schema must be a string of JSON text", "#");
  const known = recent.get(source);
  if (known) return { ...known };
  const compiled = compileUncached(source, budget);
  // The SZCP schema re-derives every json_schema zone's pattern, and a repeated block repeats its schema: remember a few.
  if (recent.size >= RECENT_SCHEMAS) recent.delete(recent.keys().next().value!);
  recent.set(source, compiled);
  return { ...compiled };
}

const RECENT_SCHEMAS = 32;
const recent = new Map<string, CompiledJsonSchema>();

function compileUncached(source: string, budget?: ConstraintBudget): CompiledJsonSchema {
  if (source.length > JSON_SCHEMA_LIMITS.maxSchemaLength)
    throw new JsonSchemaError(`the schema has ${source.length} characters, over JSON_SCHEMA_LIMITS.maxSchemaLength = ${JSON_SCHEMA_LIMITS.maxSchemaLength}`, "#");
  let root: Json;
  try {
    root = JSON.parse(source) as Json;
  } catch (e) {
    throw new JsonSchemaError(`the schema is not valid JSON: ${(e as Error).message}`, "#");
  }
  const pattern = new SchemaCompiler(root).compile();
  checkPattern(pattern, budget);
  return { schema: JSON.stringify(root), pattern };
}

/** The derived regex compiles (NFA bound), and its byte DFA stays within JSON_SCHEMA_LIMITS.maxDfaStates; work taken from `budget` when given. */
function checkPattern(pattern: string, budget?: ConstraintBudget): void {
  if (pattern.length > JSON_SCHEMA_LIMITS.maxPatternLength)
    throw new JsonSchemaError(`the derived regex has ${pattern.length} characters, over JSON_SCHEMA_LIMITS.maxPatternLength = ${JSON_SCHEMA_LIMITS.maxPatternLength}; use fewer properties or smaller bounds`, "#");
  let nfa: ByteNfa;
  try {
    nfa = compileRegex(pattern, JSON_SCHEMA_LIMITS.maxPatternLength, budget);
  } catch (e) {
    if (e instanceof RegexError) throw new JsonSchemaError(`the derived regex does not compile: ${e.reason}; use smaller bounds`, "#");
    throw e;
  }
  const workLeft = budget ? Math.min(REGEX_LIMITS.maxSubsetWork, budget.subsetWork) : REGEX_LIMITS.maxSubsetWork;
  const dfa = subsetConstruction(nfa, JSON_SCHEMA_LIMITS.maxDfaStates, workLeft);
  if (budget) budget.subsetWork -= dfa.work;
  if ("over" in dfa && dfa.over === "work" && workLeft < REGEX_LIMITS.maxSubsetWork)
    throw new JsonSchemaError(
      `checking the workflow's json_schema constraints takes more than SZCP_LIMITS.maxConstraintSubsetWork = ${SZCP_LIMITS.maxConstraintSubsetWork} steps in all, passed at this one; use fewer distinct or simpler schemas`,
      "#",
    );
  if ("over" in dfa && dfa.over === "states")
    throw new JsonSchemaError(`the derived automaton needs more than JSON_SCHEMA_LIMITS.maxDfaStates = ${JSON_SCHEMA_LIMITS.maxDfaStates} states; use smaller maxLength/maxItems or fewer optional properties`, "#");
  if ("over" in dfa)
    throw new JsonSchemaError(
      `building the derived automaton takes more than REGEX_LIMITS.maxSubsetWork = ${REGEX_LIMITS.maxSubsetWork} steps (a pattern with nested or overlapping repetitions such as ([a-z]{0,100}){10}, or large bounds); simplify it`,
      "#",
    );
}

/** States of the subset construction of `nfa`; max + 1 once over `max` states or over REGEX_LIMITS.maxSubsetWork. */
export function countDfaStates(nfa: ByteNfa, max: number): number {
  const dfa = subsetConstruction(nfa, max);
  return "over" in dfa ? max + 1 : dfa.count;
}

/** Regex-escape a literal (our subset: `\` before punctuation). */
function literal(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, (c) => "\\" + c);
}

function isObj(v: Json | undefined): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function ptr(base: string, key: string | number): string {
  return `${base}/${String(key).replace(/~/g, "~0").replace(/\//g, "~1")}`;
}

function typeOf(v: Json): TypeName {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v as "string" | "boolean" | "object";
}

class SchemaCompiler {
  private readonly refs: string[] = [];
  constructor(private readonly root: Json) {}

  compile(): string {
    return this.node(this.root, "#", 0);
  }

  private fail(pointer: string, reason: string): never {
    throw new JsonSchemaError(reason, pointer);
  }

  private node(schema: Json, at: string, depth: number): string {
    if (depth > JSON_SCHEMA_LIMITS.maxDepth) this.fail(at, `subschemas nest deeper than JSON_SCHEMA_LIMITS.maxDepth = ${JSON_SCHEMA_LIMITS.maxDepth}`);
    if (schema === true || (isObj(schema) && Object.keys(schema).every((k) => ANNOTATIONS.has(k))))
      this.fail(at, "a schema that allows any value has no bounded regex; give it a type");
    if (schema === false) this.fail(at, "the schema `false` allows no value");
    if (!isObj(schema)) this.fail(at, `a schema must be an object, found ${JSON.stringify(schema)}`);
    const out = this.body(schema, at, depth);
    if (out.length > JSON_SCHEMA_LIMITS.maxPatternLength)
      this.fail(at, `the derived regex passes JSON_SCHEMA_LIMITS.maxPatternLength = ${JSON_SCHEMA_LIMITS.maxPatternLength} characters here; use fewer properties or alternatives (an object with no required property makes a regex quadratic in its properties: requiring one makes it linear)`);
    return out;
  }

  /** Refuse every key but annotations and `allowed`. */
  private only(schema: Obj, at: string, allowed: readonly string[], context: string): void {
    for (const key of Object.keys(schema)) {
      if (ANNOTATIONS.has(key) || allowed.includes(key)) continue;
      this.fail(ptr(at, key), `"${key}" is not supported ${context} (docs/language.md#constrained-zones lists the json_schema subset)`);
    }
  }

  private body(schema: Obj, at: string, depth: number): string {
    if (schema.$ref !== undefined) {
      this.only(schema, at, ["$ref"], "beside $ref");
      return this.ref(schema.$ref, ptr(at, "$ref"), depth);
    }
    if (schema.allOf !== undefined) {
      this.only(schema, at, ["allOf"], "beside allOf");
      if (!Array.isArray(schema.allOf) || schema.allOf.length !== 1) this.fail(ptr(at, "allOf"), "allOf is supported with exactly one schema (it cannot intersect several)");
      return this.node(schema.allOf[0]!, ptr(ptr(at, "allOf"), 0), depth + 1);
    }
    for (const key of ["anyOf", "oneOf"] as const) {
      if (schema[key] === undefined) continue;
      this.only(schema, at, [key], `beside ${key}`);
      const branches = schema[key];
      const here = ptr(at, key);
      if (!Array.isArray(branches) || branches.length === 0) this.fail(here, `${key} must be a non-empty list of schemas`);
      if (branches.length > JSON_SCHEMA_LIMITS.maxAlternatives) this.fail(here, `${branches.length} branches, over JSON_SCHEMA_LIMITS.maxAlternatives = ${JSON_SCHEMA_LIMITS.maxAlternatives}`);
      if (key === "oneOf") this.checkExclusive(branches, here, depth);
      return `(?:${branches.map((b, i) => this.node(b, ptr(here, i), depth + 1)).join("|")})`;
    }
    const types = this.types(schema, at);
    if (schema.const !== undefined || schema.enum !== undefined) {
      this.only(schema, at, ["const", "enum", "type"], "beside enum/const");
      const values = this.literals(schema, at)!;
      const kept = values.filter((v) => types === null || types.includes(typeOf(v)) || (typeOf(v) === "integer" && types.includes("number")));
      if (kept.length === 0) this.fail(at, "no enum/const value has the schema's type");
      return kept.length === 1 ? literal(JSON.stringify(kept[0])) : `(?:${kept.map((v) => literal(JSON.stringify(v))).join("|")})`;
    }
    if (types === null) this.fail(at, 'the schema has no "type" (nor enum, const, anyOf, oneOf, allOf or $ref); say which JSON type it is');
    const allowed = ["type", ...types.flatMap((t) => TYPE_KEYWORDS[t])];
    this.only(schema, at, allowed, `for type ${types.join(" or ")}`);
    const parts = types.map((t) => this.typed(t, schema, at, depth));
    return parts.length === 1 ? parts[0]! : `(?:${parts.join("|")})`;
  }

  private types(schema: Obj, at: string): TypeName[] | null {
    const t = schema.type;
    if (t === undefined) return null;
    const list = Array.isArray(t) ? t : [t];
    if (list.length === 0) this.fail(ptr(at, "type"), "type must name at least one type");
    const out: TypeName[] = [];
    list.forEach((name, i) => {
      const here = Array.isArray(t) ? ptr(ptr(at, "type"), i) : ptr(at, "type");
      if (typeof name !== "string" || !(TYPES as readonly string[]).includes(name)) this.fail(here, `unknown type ${JSON.stringify(name)}; expected one of ${TYPES.join(", ")}`);
      if (out.includes(name as TypeName)) this.fail(here, `type ${name} is listed twice`);
      out.push(name as TypeName);
    });
    // integer ⊂ number: listing both would admit integers twice; number alone covers them.
    return out.includes("number") && out.includes("integer") ? out.filter((x) => x !== "integer") : out;
  }

  private typed(type: TypeName, schema: Obj, at: string, depth: number): string {
    switch (type) {
      case "null":
        return "null";
      case "boolean":
        return "(?:true|false)";
      case "number":
        return `(?:${NUMBER})`;
      case "integer":
        return this.integer(schema, at);
      case "string":
        return this.string(schema, at);
      case "array":
        return this.array(schema, at, depth);
      case "object":
        return this.object(schema, at, depth);
    }
  }

  private count(schema: Obj, key: string, at: string): number | undefined {
    const v = schema[key];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) this.fail(ptr(at, key), `${key} must be a non-negative integer, found ${JSON.stringify(v)}`);
    if (v > JSON_SCHEMA_LIMITS.maxRepeat) this.fail(ptr(at, key), `${key} = ${v}, over JSON_SCHEMA_LIMITS.maxRepeat = ${JSON_SCHEMA_LIMITS.maxRepeat}`);
    return v;
  }

  /** `{min,max}` for a repeat whose bounds came from `minKey`/`maxKey`. */
  private bounds(schema: Obj, at: string, minKey: string, maxKey: string): [number, number | undefined] {
    const min = this.count(schema, minKey, at) ?? 0;
    const max = this.count(schema, maxKey, at);
    if (max !== undefined && max < min) this.fail(ptr(at, maxKey), `${maxKey} = ${max} is below ${minKey} = ${min}`);
    return [min, max];
  }

  private string(schema: Obj, at: string): string {
    if (schema.pattern !== undefined) {
      const here = ptr(at, "pattern");
      if (schema.minLength !== undefined || schema.maxLength !== undefined) this.fail(here, "pattern with minLength/maxLength is not supported (the regexes cannot be intersected); put the length in the pattern");
      if (typeof schema.pattern !== "string") this.fail(here, "pattern must be a string");
      let p = schema.pattern;
      let nfa: ByteNfa;
      try {
        nfa = compileRegex(p);
      } catch (e) {
        if (e instanceof RegexError) this.fail(here, `the pattern is outside the regex subset: ${e.reason} at offset ${e.offset}`);
        throw e;
      }
      for (const set of nfa.set) {
        if (set && (set[0x22] || set[0x5c] || set.subarray(0, 0x20).some((b) => b === 1)))
          this.fail(here, 'the pattern can match ", \\ or a control character, which a JSON string must escape; exclude them (e.g. [^"\\\\\\x00-\\x1f] instead of .)');
      }
      // ^ and $ at the ends mean nothing more in our subset (the match is whole); drop them inside the quotes.
      if (p.startsWith("^")) p = p.slice(1);
      if (p.endsWith("$") && !p.endsWith("\\$")) p = p.slice(0, -1);
      return `"(?:${p})"`;
    }
    const [min, max] = this.bounds(schema, at, "minLength", "maxLength");
    const repeat = max === undefined ? (min === 0 ? "*" : `{${min},}`) : min === max ? `{${min}}` : `{${min},${max}}`;
    return `"${STRING_CHAR}${repeat}"`;
  }

  private integer(schema: Obj, at: string): string {
    let lo = -MAX_DEFAULT_INTEGER;
    let hi = MAX_DEFAULT_INTEGER;
    const bound = (key: string): number | undefined => {
      const v = schema[key];
      if (v === undefined) return undefined;
      if (typeof v !== "number" || !Number.isFinite(v)) this.fail(ptr(at, key), `${key} must be a number, found ${JSON.stringify(v)}`);
      if (Math.abs(v) > Number.MAX_SAFE_INTEGER) this.fail(ptr(at, key), `${key} = ${v} is beyond the safe integers (±${Number.MAX_SAFE_INTEGER})`);
      return v;
    };
    const min = bound("minimum"), max = bound("maximum"), xmin = bound("exclusiveMinimum"), xmax = bound("exclusiveMaximum");
    if (min !== undefined) lo = BigInt(Math.ceil(min));
    if (xmin !== undefined) lo = maxBig(lo, BigInt(Math.floor(xmin)) + 1n);
    if (max !== undefined) hi = BigInt(Math.floor(max));
    if (xmax !== undefined) hi = minBig(hi, BigInt(Math.ceil(xmax)) - 1n);
    if (lo > hi) this.fail(at, `no integer lies between the bounds (${lo} > ${hi})`);
    return integerRange(lo, hi);
  }

  private array(schema: Obj, at: string, depth: number): string {
    const [min, max] = this.bounds(schema, at, "minItems", "maxItems");
    if (max === 0) return "\\[\\]";
    if (schema.items === undefined) this.fail(at, "an array needs items (a schema for its elements), or maxItems = 0");
    const item = this.node(schema.items, ptr(at, "items"), depth + 1);
    const rest = (lo: number, hi: number | undefined) => (hi === undefined ? (lo === 0 ? "*" : `{${lo},}`) : lo === hi ? `{${lo}}` : `{${lo},${hi}}`);
    const more = (lo: number, hi: number | undefined) => (hi === 0 ? "" : `(?:,${item})${rest(lo, hi)}`);
    if (min === 0) return `\\[(?:${item}${more(0, max === undefined ? undefined : max - 1)})?\\]`;
    return `\\[${item}${more(min - 1, max === undefined ? undefined : max - 1)}\\]`;
  }

  private object(schema: Obj, at: string, depth: number): string {
    const props = schema.properties ?? {};
    if (!isObj(props)) this.fail(ptr(at, "properties"), "properties must be an object of schemas");
    const names = Object.keys(props);
    if (names.length > JSON_SCHEMA_LIMITS.maxProperties) this.fail(ptr(at, "properties"), `${names.length} properties, over JSON_SCHEMA_LIMITS.maxProperties = ${JSON_SCHEMA_LIMITS.maxProperties}`);
    const required = schema.required ?? [];
    if (!Array.isArray(required) || required.some((r) => typeof r !== "string")) this.fail(ptr(at, "required"), "required must be a list of property names");
    required.forEach((r, i) => {
      if (!Object.hasOwn(props, r as string)) this.fail(ptr(ptr(at, "required"), i), `required property ${JSON.stringify(r)} is not in properties, so it could not be generated`);
    });
    const parts = names.map((n) => `${literal(JSON.stringify(n))}:${this.node(props[n]!, ptr(ptr(at, "properties"), n), depth + 1)}`);
    const must = names.map((n) => required.includes(n));
    const first = must.indexOf(true);
    let inner: string;
    if (names.length === 0) inner = "";
    else if (first >= 0) {
      // Optional properties before the first required one are each followed by a comma; those after it are each preceded by one.
      inner = parts.map((p, i) => (i < first ? `(?:${p},)?` : i === first ? p : must[i] ? `,${p}` : `(?:,${p})?`)).join("");
    } else {
      // None required: either empty, or some property i first, then any of the later ones in order.
      const tails = parts.map((p, i) => p + parts.slice(i + 1).map((q) => `(?:,${q})?`).join(""));
      inner = `(?:${tails.join("|")})?`;
    }
    return `\\{${inner}\\}`;
  }

  private ref(target: Json, at: string, depth: number): string {
    if (typeof target !== "string" || !target.startsWith("#")) this.fail(at, `only local $refs ("#/$defs/name") are supported, found ${JSON.stringify(target)}`);
    if (this.refs.includes(target)) this.fail(at, `$ref ${JSON.stringify(target)} is recursive (${[...this.refs, target].join(" → ")}); a recursive schema has no regular form`);
    let node: Json = this.root;
    const path = target === "#" ? [] : target.slice(1).split("/").slice(1);
    if (target !== "#" && !target.startsWith("#/")) this.fail(at, `$ref ${JSON.stringify(target)} must be a JSON pointer ("#/$defs/name")`);
    for (const raw of path) {
      const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
      const next: Json | undefined = Array.isArray(node) ? node[Number(key)] : isObj(node) && Object.hasOwn(node, key) ? node[key] : undefined;
      if (next === undefined) this.fail(at, `$ref ${JSON.stringify(target)} points at nothing`);
      node = next;
    }
    this.refs.push(target);
    const out = this.node(node, target, depth + 1);
    this.refs.pop();
    return out;
  }

  /** The values of an enum/const schema, or null when it is not one. */
  private literals(schema: Obj, at: string): Json[] | null {
    if (schema.const !== undefined) {
      if (schema.enum !== undefined) this.fail(ptr(at, "enum"), "a schema has at most one of const and enum");
      return [schema.const];
    }
    if (schema.enum === undefined) return null;
    if (!Array.isArray(schema.enum) || schema.enum.length === 0) this.fail(ptr(at, "enum"), "enum must be a non-empty list of values");
    if (schema.enum.length > JSON_SCHEMA_LIMITS.maxAlternatives) this.fail(ptr(at, "enum"), `${schema.enum.length} values, over JSON_SCHEMA_LIMITS.maxAlternatives = ${JSON_SCHEMA_LIMITS.maxAlternatives}`);
    return schema.enum;
  }

  /** Follow `$ref`/single `allOf` to the schema that says what a branch is. */
  private resolve(schema: Json, seen = 0): Json {
    if (!isObj(schema) || seen > JSON_SCHEMA_LIMITS.maxDepth) return schema;
    if (typeof schema.$ref === "string" && schema.$ref.startsWith("#")) {
      let node: Json | undefined = this.root;
      for (const raw of schema.$ref === "#" ? [] : schema.$ref.slice(2).split("/")) {
        const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
        node = Array.isArray(node) ? node[Number(key)] : isObj(node) && Object.hasOwn(node, key) ? node[key] : undefined;
      }
      return node === undefined ? schema : this.resolve(node, seen + 1);
    }
    if (Array.isArray(schema.allOf) && schema.allOf.length === 1) return this.resolve(schema.allOf[0]!, seen + 1);
    return schema;
  }

  /**
   * `oneOf` means exactly one branch matches, so an instance of one branch must fail the
   * others. Alternation is right only when no instance fits two branches: accepted when each
   * pair has disjoint JSON types, disjoint enum/const values, or (objects) a property both
   * require whose const/enum values are disjoint.
   */
  private checkExclusive(branches: Json[], at: string, depth: number): void {
    const info = branches.map((b) => {
      const s = this.resolve(b);
      if (!isObj(s)) return { types: null, values: null, tags: new Map<string, Set<string>>() };
      const lits = s.const !== undefined ? [s.const] : Array.isArray(s.enum) ? s.enum : null;
      const types = lits ? new Set(lits.map(typeOf)) : s.type === undefined ? null : new Set(Array.isArray(s.type) ? (s.type as string[]) : [s.type as string]);
      const tags = new Map<string, Set<string>>();
      if (isObj(s.properties) && Array.isArray(s.required)) {
        for (const name of s.required) {
          const p = this.resolve(s.properties[name as string] ?? null);
          if (!isObj(p)) continue;
          const v = p.const !== undefined ? [p.const] : Array.isArray(p.enum) ? p.enum : null;
          if (v) tags.set(name as string, new Set(v.map(canonical)));
        }
      }
      return { types, values: lits ? new Set(lits.map(canonical)) : null, tags };
    });
    const kinds = (t: Set<string>) => new Set([...t].map((x) => (x === "integer" ? "number" : x)));
    const disjoint = (a: Set<string>, b: Set<string>) => [...a].every((x) => !b.has(x));
    for (let i = 0; i < info.length; i++) {
      for (let j = i + 1; j < info.length; j++) {
        const a = info[i]!, b = info[j]!;
        if (a.types && b.types && disjoint(kinds(a.types), kinds(b.types))) continue;
        if (a.values && b.values && disjoint(a.values, b.values)) continue;
        if ([...a.tags].some(([name, va]) => b.tags.has(name) && disjoint(va, b.tags.get(name)!))) continue;
        this.fail(ptr(at, j), `oneOf branches ${i} and ${j} may both match one value, and the regex cannot exclude it; use anyOf, or tell them apart by type, by enum/const values, or by a required property with a const (depth ${depth})`);
      }
    }
  }
}

/** JSON text with object keys sorted: equal JSON values (as a validator compares them) give equal text. */
function canonical(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k]!)}`).join(",")}}`;
  return JSON.stringify(v);
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/** A regex matching exactly the decimal integers in [lo, hi] (JSON spelling: no leading zeros, no `-0`). */
export function integerRange(lo: bigint, hi: bigint): string {
  const parts: string[] = [];
  if (lo < 0n) {
    const negHi = hi < 0n ? hi : -1n; // most negative .. negHi
    parts.push(`-${naturalRange(-negHi, -lo)}`);
  }
  if (hi >= 0n) parts.push(naturalRange(lo > 0n ? lo : 0n, hi));
  return parts.length === 1 ? parts[0]! : `(?:${parts.join("|")})`;
}

/** Non-negative integers in [a, b], split by digit count. */
function naturalRange(a: bigint, b: bigint): string {
  const parts: string[] = [];
  const la = a.toString().length, lb = b.toString().length;
  for (let len = la; len <= lb; len++) {
    const floor = len === 1 ? 0n : 10n ** BigInt(len - 1);
    const ceil = 10n ** BigInt(len) - 1n;
    const lo = a > floor ? a : floor;
    const hi = b < ceil ? b : ceil;
    if (lo <= hi) parts.push(sameLength(lo.toString(), hi.toString()));
  }
  return parts.length === 1 ? parts[0]! : `(?:${parts.join("|")})`;
}

/** Digit strings of one length between lo and hi (inclusive). */
function sameLength(lo: string, hi: string): string {
  if (lo.length === 0) return "";
  if (lo === hi) return lo;
  if (/^0*$/.test(lo) && /^9*$/.test(hi)) return lo.length === 1 ? "[0-9]" : `[0-9]{${lo.length}}`;
  const a = Number(lo[0]), b = Number(hi[0]);
  const rest = lo.length - 1;
  if (a === b) return lo[0] + sameLength(lo.slice(1), hi.slice(1));
  if (rest === 0) return `[${a}-${b}]`;
  const parts = [lo[0] + sameLength(lo.slice(1), "9".repeat(rest))];
  if (b - a >= 2) parts.push((b - a === 2 ? `${a + 1}` : `[${a + 1}-${b - 1}]`) + (rest === 1 ? "[0-9]" : `[0-9]{${rest}}`));
  parts.push(hi[0] + sameLength("0".repeat(rest), hi.slice(1)));
  return `(?:${parts.join("|")})`;
}
