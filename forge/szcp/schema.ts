/**
 * The SZCP schema (zod) for untrusted input, plus the checks a schema cannot express:
 * edge targets inside the zone list, loop counters below `counters`, advance patterns
 * matching the zone index, tools declared in the config, and the totals of SZCP_LIMITS
 * (pattern bytes, text, distinct tags). Every bound comes from `SZCP_LIMITS` (limits.ts);
 * an issue over one names the limit (`SzcpIssue.limit`).
 *
 * The SZCP types (types.ts) are inferred from these schemas, so the field comments here are
 * the format's documentation (they show on the inferred types in editors).
 */
import { z } from "zod";
import { END, SZCP_FORMAT, SZCP_VERSION } from "./format.js";
import { jsonPath, type SzcpIssue } from "./errors.js";
import { checkChoices, compileRegex, ConstraintBudget, RegexError } from "./regex.js";
import { compileJsonSchema, JsonSchemaError } from "./json-schema.js";
import { RESERVED_EXTRACTION_NAMES, RESERVED_KEY_NAMES, SZCP_LIMITS, limitLabel, type SzcpLimitName } from "./limits.js";

const utf8Length = (s: string): number => Buffer.byteLength(s, "utf8");

/** zod's `params` on a limit issue: which limit, so `validateWorkflow` can report it. */
const over = (name: SzcpLimitName, what: string) => ({
  error: (issue: { input?: unknown }) => {
    const input = issue.input;
    const found = typeof input === "number" ? String(input) : typeof input === "string" ? `${input.length} characters` : Array.isArray(input) ? `${input.length} items` : "too many";
    return `${what}: ${found} is over the limit (${limitLabel(name)})`;
  },
  params: { limit: name },
});

/**
 * An integer in min..SZCP_LIMITS[name] (below 2^31: the program stores them as Int32). The
 * limit is checked first, so a number past 2^53 is reported against it too.
 */
const boundedInt = (name: SzcpLimitName, min = 0) => z.number().max(SZCP_LIMITS[name], over(name, "too large")).min(min).int();
const name = z.string().min(1).max(SZCP_LIMITS.maxNameLength, over("maxNameLength", "too long"));
/** A trigger pattern: non-empty, at most maxPatternBytes of UTF-8. */
const pattern = z
  .string()
  .min(1)
  .max(SZCP_LIMITS.maxPatternBytes, over("maxPatternBytes", "pattern too long"))
  .refine((s) => utf8Length(s) <= SZCP_LIMITS.maxPatternBytes, {
    error: (issue) => `pattern too long: ${utf8Length(String(issue.input))} UTF-8 bytes is over the limit (${limitLabel("maxPatternBytes")})`,
    params: { limit: "maxPatternBytes" },
  });
/** A tool name (looked up in the backend's tool registry): not a property every object inherits. */
const toolName = name.refine((s) => !RESERVED_KEY_NAMES.includes(s), {
  error: (issue) => `${JSON.stringify(issue.input)} is reserved (a property of every JavaScript object); pick another name`,
});
/** A string record, its size and keys checked on the raw input (a parsed record would have lost a `__proto__` key). */
const record = z
  .unknown()
  .superRefine((value, ctx) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return; // the record schema says what is wrong
    const keys = Object.keys(value);
    if (keys.length > SZCP_LIMITS.maxRecordEntries)
      ctx.addIssue({ code: "custom", message: `too many entries: ${keys.length} is over the limit (${limitLabel("maxRecordEntries")})`, abort: true });
    else if (Object.prototype.hasOwnProperty.call(value, "__proto__"))
      ctx.addIssue({ code: "custom", message: `the key "__proto__" is reserved (a property of every JavaScript object); pick another name`, path: ["__proto__"], abort: true });
  })
  .pipe(z.record(z.string().max(SZCP_LIMITS.maxNameLength, over("maxNameLength", "key too long")), z.string().max(SZCP_LIMITS.maxRecordValueLength, over("maxRecordValueLength", "value too long"))));
const zoneTarget = z.number().max(SZCP_LIMITS.maxZones, over("maxZones", "zone id too large")).min(END).int();
const tagList = z.array(name).max(SZCP_LIMITS.maxTags, over("maxTags", "too many tags"));

export const escapeSpecSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("single"), token: pattern }),
  z.strictObject({ kind: z.literal("pair"), open: pattern, close: pattern }),
]);

export const szcpConfigSchema = z.strictObject({
  /** Patterns separating zones, in order; zone k of a block runs from zoneTokens[k] to zoneTokens[k+1]. */
  zoneTokens: z.array(pattern).min(2).max(SZCP_LIMITS.maxZoneTokens, over("maxZoneTokens", "too many zone tokens")),
  /** The pattern the model emits to take a jump at a jump site. */
  controlToken: pattern,
  escape: escapeSpecSchema.nullable(),
  /** Special-token names to strings, e.g. { eos_token: "[EOS]" }. */
  tokenizerOverride: record,
  /** Tool names the workflow may capture to / feed from. */
  tools: z.array(toolName).max(SZCP_LIMITS.maxTools, over("maxTools", "too many tools")),
  /** Chat role of each zone of a block (UDPL `chat_roles`): LZCP wraps zones in the model's chat-template markers. */
  chatRoles: z.array(z.enum(["user", "assistant"])).max(SZCP_LIMITS.maxZoneTokens, over("maxZoneTokens", "too many chat roles")).optional(),
});

export const szcpLoopSchema = z.strictObject({
  /** Counter index (0..counters-1); the counter counts entries into this jump site since the loop was entered. */
  counter: boundedInt("maxCounters"),
  /** Minimum body iterations before a jump is honoured (null: none). */
  min: boundedInt("maxCount").nullable(),
  /** Maximum body iterations; the exit is taken by force after it (null: none). */
  max: boundedInt("maxCount", 1).nullable(),
});

/**
 * What a constrained zone's generated text must be (docs/language.md#constrained-zones): one
 * of `choices`, or a whole match of `pattern` (the regex subset of forge/szcp/regex.ts); then
 * the zone's end pattern. Checked here so an untrusted workflow's regex is refused at the
 * boundary, naming its JSON path.
 */
export const zoneConstraintSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("choices"),
    choices: z.array(z.string().min(1).max(SZCP_LIMITS.maxChoiceBytes, over("maxChoiceBytes", "choice too long"))).min(1).max(SZCP_LIMITS.maxChoices, over("maxChoices", "too many choices")),
  }),
  z.strictObject({ kind: z.literal("regex"), pattern: z.string().max(SZCP_LIMITS.maxRegexLength, over("maxRegexLength", "regex too long")) }),
  /** A JSON Schema (`schema`, its JSON text) and the regex derived from it (`pattern`, forge/szcp/json-schema.ts); the automata apply `pattern` as a regex zone's. */
  z.strictObject({
    kind: z.literal("json_schema"),
    schema: z.string().max(SZCP_LIMITS.maxJsonSchemaLength, over("maxJsonSchemaLength", "JSON schema too long")),
    pattern: z.string().max(SZCP_LIMITS.maxJsonSchemaPatternLength, over("maxJsonSchemaPatternLength", "derived regex too long")),
  }),
]).superRefine((c, ctx) => {
  // Within one workflow (withConstraintBudget), each distinct constraint is checked once and
  // all of them together spend one budget; a constraint parsed alone gets a fresh one.
  const budget = activeBudget ?? new ConstraintBudget();
  const key = JSON.stringify(c);
  if (!budget.checked.has(key)) budget.checked.set(key, constraintIssue(c, budget));
  const issue = budget.checked.get(key);
  if (issue) ctx.addIssue({ code: "custom", ...issue });
});

/** The problem of one constraint, or null; its work is taken from `budget`. */
function constraintIssue(c: z.infer<typeof zoneConstraintSchema>, budget: ConstraintBudget): { message: string; path: Array<string | number> } | null {
  if (c.kind === "json_schema") {
    // The pattern is what the masks apply; it must be the schema's own, so an export's schema says what the zone really allowed.
    try {
      const derived = compileJsonSchema(c.schema, budget).pattern;
      if (derived !== c.pattern) return { message: "the pattern is not the regex derived from the schema (forge/szcp/json-schema.ts compileJsonSchema)", path: ["pattern"] };
    } catch (e) {
      if (!(e instanceof JsonSchemaError)) throw e;
      return { message: `JSON schema ${e.message}`, path: ["schema"] };
    }
    return null;
  }
  try {
    if (c.kind === "choices") checkChoices(c.choices);
    else compileRegex(c.pattern, undefined, budget);
  } catch (e) {
    if (!(e instanceof RegexError)) throw e;
    return { message: e.message, path: c.kind === "choices" ? ["choices", e.offset] : ["pattern"] };
  }
  return null;
}

let activeBudget: ConstraintBudget | null = null;

/**
 * Runs a synchronous parse with `budget` as the constraints' budget (see ConstraintBudget):
 * the schema's refinement has no other way to share state between zones.
 */
export function withConstraintBudget<T>(budget: ConstraintBudget, parse: () => T): T {
  const outer = activeBudget;
  activeBudget = budget;
  try {
    return parse();
  } finally {
    activeBudget = outer;
  }
}

export const szcpZoneSchema = z.strictObject({
  /** Forced text fed on entering the zone, after placeholder substitution. It includes the
   * zone's opening pattern when the block text has it, and ends with the closing pattern
   * when the block text has that (then the zone needs no generation). */
  text: z.string().max(SZCP_LIMITS.maxTextLength, over("maxTextLength", "text too long")),
  /** The pattern that ends the zone (zoneTokens[k+1]); injected on timeout. */
  advance: pattern,
  /** Nominal successor zone id, or END. */
  next: zoneTarget,
  /** Jump site: where the control pattern leads (zone id or END); null when not a jump site. */
  jump: zoneTarget.nullable(),
  /** Set on the jump site of a loop head. */
  loop: szcpLoopSchema.nullable(),
  /** Tags painted on every token of this zone. */
  tags: tagList,
  /** Cap on generated tokens in this zone before the advance pattern is forced. */
  maxGen: boundedInt("maxCount", 1),
  /** Tool name: tokens generated in this zone are sent to that tool when the zone ends. */
  capture: toolName.nullable(),
  /** Tool name: the zone's generation is replaced by that tool's last output. */
  feed: toolName.nullable(),
  /** Provenance for traces and paths: the sequence this zone's block belongs to. */
  sequence: z.string().max(SZCP_LIMITS.maxNameLength, over("maxNameLength", "too long")),
  /** Provenance: the block's index. */
  block: boundedInt("maxCount"),
  /** Zone index within its block (0..zoneTokens.length-2). */
  zone: boundedInt("maxZoneTokens"),
  /** Which repetition of the block (0 when the block has no `repeats`). */
  repetition: boundedInt("maxCount"),
  /** Constrained generation: choices or a regex, then the end pattern (absent: free). */
  constraint: zoneConstraintSchema.nullable().optional(),
});

export const szcpExtractionSchema = z.strictObject({
  /** The key of this extraction in a result. */
  name: name.refine((s) => !RESERVED_EXTRACTION_NAMES.includes(s), {
    error: (issue) =>
      `the extraction name ${JSON.stringify(issue.input)} is reserved (${RESERVED_EXTRACTION_NAMES.map((n) => JSON.stringify(n)).join(", ")}: ` +
      `results are keyed by extraction name, and a result already has these keys); pick another name`,
  }),
  /** Union of tags: a token belongs to the extraction when its zone carries any of them. */
  tags: tagList.min(1),
});

export const szcpSchema = z.strictObject({
  format: z.literal(SZCP_FORMAT),
  version: z.literal(SZCP_VERSION),
  config: szcpConfigSchema,
  /** Zone ids are indices into this list; execution starts at zone 0. */
  zones: z.array(szcpZoneSchema).min(1).max(SZCP_LIMITS.maxZones, over("maxZones", "too many zones")),
  /** Number of loop counters used by `zones[].loop.counter`. */
  counters: boundedInt("maxCounters"),
  extractions: z.array(szcpExtractionSchema).max(SZCP_LIMITS.maxExtractions, over("maxExtractions", "too many extractions")),
  /** Free-form provenance (program name, resource draws); ignored by the backend. */
  meta: record,
});

/** The top level of a workflow, its zones left unchecked (`deserializeWorkflowInSlices` checks them a slice at a time). */
export const szcpOutlineSchema = szcpSchema.extend({
  zones: z.array(z.unknown()).min(1).max(SZCP_LIMITS.maxZones, over("maxZones", "too many zones")),
});

/** Cross-field rules, run after the schema accepted the shape. */
export function checkWorkflowSemantics(w: z.infer<typeof szcpSchema>): SzcpIssue[] {
  const issues: SzcpIssue[] = checkTotals(w);
  const add = (path: PropertyKey[], message: string): void => {
    issues.push({ path: jsonPath(path), message });
  };
  const zoneCount = w.zones.length;
  const zonesPerBlock = w.config.zoneTokens.length - 1;
  const counterOwners = new Map<number, number>();
  w.zones.forEach((zone, i) => {
    if (zone.next >= zoneCount) add(["zones", i, "next"], `target ${zone.next} is past the last zone (${zoneCount - 1}); use ${END} for the end`);
    if (zone.jump !== null && zone.jump >= zoneCount) add(["zones", i, "jump"], `target ${zone.jump} is past the last zone (${zoneCount - 1})`);
    if (zone.zone >= zonesPerBlock) add(["zones", i, "zone"], `zone index ${zone.zone} but blocks have ${zonesPerBlock} zones`);
    else if (zone.advance !== w.config.zoneTokens[zone.zone + 1]) {
      add(["zones", i, "advance"], `expected ${JSON.stringify(w.config.zoneTokens[zone.zone + 1])} (zoneTokens[${zone.zone + 1}]), found ${JSON.stringify(zone.advance)}`);
    }
    if (zone.loop) {
      if (zone.jump === null) add(["zones", i, "loop"], "a loop is set on a zone that is not a jump site (jump is null)");
      if (zone.loop.counter >= w.counters) add(["zones", i, "loop", "counter"], `counter ${zone.loop.counter} but counters is ${w.counters}`);
      const owner = counterOwners.get(zone.loop.counter);
      if (owner !== undefined) add(["zones", i, "loop", "counter"], `counter ${zone.loop.counter} is already used by zone ${owner}`);
      counterOwners.set(zone.loop.counter, i);
      if (zone.loop.min !== null && zone.loop.max !== null && zone.loop.min > zone.loop.max) {
        add(["zones", i, "loop", "min"], `min ${zone.loop.min} is greater than max ${zone.loop.max}`);
      }
    }
    if (zone.constraint && zone.feed !== null) add(["zones", i, "constraint"], "a feed zone cannot be constrained: the tool's output replaces its generation");
    for (const key of ["capture", "feed"] as const) {
      const tool = zone[key];
      if (tool !== null && !w.config.tools.includes(tool)) add(["zones", i, key], `tool ${JSON.stringify(tool)} is not in config.tools`);
    }
  });
  const names = new Set<string>();
  w.extractions.forEach((e, i) => {
    if (names.has(e.name)) add(["extractions", i, "name"], `extraction name ${JSON.stringify(e.name)} appears twice`);
    names.add(e.name);
  });
  return issues;
}

/** The totals of SZCP_LIMITS: distinct pattern bytes, text, distinct tags. */
function checkTotals(w: z.infer<typeof szcpSchema>): SzcpIssue[] {
  const issues: SzcpIssue[] = [];
  const c = w.config;
  const patterns = new Set([...c.zoneTokens, c.controlToken]);
  if (c.escape?.kind === "single") patterns.add(c.escape.token);
  else if (c.escape?.kind === "pair") patterns.add(c.escape.open).add(c.escape.close);
  let patternBytes = 0;
  for (const p of patterns) patternBytes += utf8Length(p);
  if (patternBytes > SZCP_LIMITS.maxPatternTotalBytes)
    issues.push({
      path: "$.config",
      message: `the trigger patterns (zoneTokens, controlToken, escape) have ${patternBytes} UTF-8 bytes together, over the limit (${limitLabel("maxPatternTotalBytes")})`,
      limit: { name: "maxPatternTotalBytes", value: SZCP_LIMITS.maxPatternTotalBytes },
    });
  let text = 0;
  for (const zone of w.zones) text += zone.text.length;
  if (text > SZCP_LIMITS.maxTotalTextLength)
    issues.push({
      path: "$.zones",
      message: `the zone texts have ${text} characters together, over the limit (${limitLabel("maxTotalTextLength")})`,
      limit: { name: "maxTotalTextLength", value: SZCP_LIMITS.maxTotalTextLength },
    });
  const tags = new Set<string>();
  for (const zone of w.zones) for (const tag of zone.tags) tags.add(tag);
  for (const e of w.extractions) for (const tag of e.tags) tags.add(tag);
  if (tags.size > SZCP_LIMITS.maxTags)
    issues.push({
      path: "$.zones",
      message: `the zones and extractions use ${tags.size} distinct tags, over the limit (${limitLabel("maxTags")})`,
      limit: { name: "maxTags", value: SZCP_LIMITS.maxTags },
    });
  return issues;
}

/** The schema as JSON Schema (draft 2020-12), for non-TypeScript clients of the format. */
export function szcpJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(szcpSchema) as Record<string, unknown>;
}
