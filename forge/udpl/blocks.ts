/**
 * Sequence validation: each `[[name]]` table is a block. Checks every block field, splits
 * the text into zones (zcp/text.ts), resolves placeholders against their tables, and emits
 * the ZCP sequence.
 */
import { splitZones, type TextIssue, type TriggerPatterns } from "../zcp/text.js";
import type { PlaceholderSpec, PlaceholderType, TextPart, ZcpBlock, ZcpSequence, ZcpZone } from "../zcp/types.js";
import { positiveInt } from "./config.js";
import { cut, describeValue, isTable, listForMessage, quote, suggest, type LintContext } from "./context.js";
import { UDPL_LIMITS, limitLabel } from "./limits.js";
import { LineIndex, type PathSegment } from "./locate.js";
import { parseTemplate } from "../zcp/text.js";
import { checkNesting } from "./toml.js";
import { DEFAULT_MAX_GEN, type UdplConfig } from "./types.js";
import { checkChoices, compileRegex, RegexError } from "../szcp/regex.js";
import { compileJsonSchema, JsonSchemaError } from "../szcp/json-schema.js";
import type { ZoneConstraint } from "../szcp/types.js";

const BLOCK_FIELDS = ["text", "tags", "tagset", "repeats", "max_gen_tokens", "choices", "regex", "json_schema"];
/** The fields that constrain a block's last zone; a block has at most one. */
const CONSTRAINT_FIELDS = ["choices", "regex", "json_schema"] as const;
const PLACEHOLDER_FIELDS = ["name", "type", "arguments"];
const PLACEHOLDER_TYPES: Record<string, PlaceholderType> = {
  standard: "standard",
  custom: "custom",
  control: "custom", // the seed's spelling
  argument: "argument",
};

/** What the sequences of one parse share: the valid tags as a set, and the zones emitted so far (against `UDPL_LIMITS.maxZones`). */
export interface SequenceBudget {
  zones: number;
  validTags?: ReadonlySet<string>;
}

export function validateSequence(
  name: string,
  raw: unknown,
  config: UdplConfig,
  ctx: LintContext,
  listed: boolean,
  budget: SequenceBudget = { zones: 0 },
): ZcpSequence {
  if (!Array.isArray(raw)) {
    if (isTable(raw)) {
      ctx.fail([name], `[${cut(name)}] is a single table; the blocks of a sequence are an array of tables`, {
        sequence: name,
        expected: `[[${cut(name)}]]`,
        found: `[${cut(name)}]`,
        hint: `write [[${cut(name)}]] (double brackets) for each block`,
      });
    }
    ctx.fail([name], `top-level key "${cut(name)}" is neither [config] nor a [[sequence]] block`, {
      sequence: name,
      expected: "[config] fields inside [config], blocks as [[name]] tables",
      found: describeValue(raw),
      hint: "a key written above [config] belongs to the top level; move it under its table",
    });
  }
  if (raw.length === 0) ctx.fail([name], `sequence "${cut(name)}" has no blocks`, { sequence: name, expected: `at least one [[${cut(name)}]]`, found: "0 blocks" });
  const patterns: TriggerPatterns = { zoneTokens: config.zoneTokens, controlToken: config.controlToken, escape: config.escape };
  if (!budget.validTags) budget.validTags = new Set(config.validTags);
  const blocks = raw.map((b, i) => validateBlock(name, i, b, config, patterns, ctx, budget));
  return { name, file: ctx.file, listed, blocks, zones: blocks.flatMap((b) => b.zones) };
}

function validateBlock(
  sequence: string,
  index: number,
  raw: unknown,
  config: UdplConfig,
  patterns: TriggerPatterns,
  ctx: LintContext,
  budget: SequenceBudget,
): ZcpBlock {
  const at: PathSegment[] = [sequence, index];
  const where = { sequence, block: index };
  if (!isTable(raw)) ctx.fail(at, "a block must be a table", { ...where, expected: "table", found: describeValue(raw) });

  // Sub-tables are placeholder declarations; other keys must be block fields.
  const placeholders: Record<string, PlaceholderSpec> = Object.create(null);
  for (const [key, value] of Object.entries(raw)) {
    if (isTable(value)) placeholders[key] = validatePlaceholder(key, value, [...at, key], ctx, where);
    else if (!BLOCK_FIELDS.includes(key)) {
      const guess = suggest(key, BLOCK_FIELDS);
      ctx.fail([...at, key], `unknown block field "${cut(key)}"`, {
        ...where,
        expected: `one of ${BLOCK_FIELDS.join(", ")}, or a placeholder table [${cut(sequence)}.name]`,
        found: cut(key),
        hint: guess ? `did you mean "${guess}"?` : undefined,
      });
    }
  }

  const text = raw.text;
  if (typeof text !== "string") {
    ctx.fail(text === undefined ? at : [...at, "text"], text === undefined ? "block has no text" : "text must be a string", {
      ...where,
      expected: 'text = "…"',
      found: describeValue(text),
    });
  }
  if (raw.tags !== undefined && raw.tagset !== undefined) {
    ctx.fail([...at, "tagset"], "a block has at most one of tags and tagset", { ...where, expected: "tags or tagset", found: "both" });
  }
  if (raw.tagset !== undefined && raw.repeats !== undefined) {
    ctx.fail([...at, "repeats"], "repeats cannot be combined with tagset: the tagset's length sets the repetitions", {
      ...where,
      expected: "tagset alone, or repeats with tags",
      found: "both",
    });
  }
  const repeats = positiveInt(raw.repeats, [...at, "repeats"], ctx, where, "maxRepeats");
  const maxGen = positiveInt(raw.max_gen_tokens, [...at, "max_gen_tokens"], ctx, where, "maxGenTokens") ?? config.defaultMaxTokenLength ?? DEFAULT_MAX_GEN;

  const zonesPerBlock = config.zoneTokens.length - 1;
  let tagsPerRepetition: string[][][];
  if (raw.tagset !== undefined) {
    if (!Array.isArray(raw.tagset) || raw.tagset.length === 0) {
      ctx.fail([...at, "tagset"], "tagset must be a non-empty list with one tags list per repetition", {
        ...where,
        expected: `list of tags lists, each with ${zonesPerBlock} lists`,
        found: describeValue(raw.tagset),
      });
    }
    ctx.limit("maxRepeats", raw.tagset.length, [...at, "tagset"], "the number of tagset entries (repetitions)", where);
    spendZones(raw.tagset.length * zonesPerBlock, [...at, "tagset"], budget, ctx, where);
    tagsPerRepetition = raw.tagset.map((t, r) => validateTags(t, [...at, "tagset", r], config, ctx, where, budget));
  } else {
    const tags = raw.tags === undefined ? null : validateTags(raw.tags, [...at, "tags"], config, ctx, where, budget);
    spendZones((repeats ?? 1) * zonesPerBlock, raw.repeats !== undefined ? [...at, "repeats"] : at, budget, ctx, where);
    tagsPerRepetition = Array.from({ length: repeats ?? 1 }, () => tags ?? Array.from({ length: zonesPerBlock }, () => []));
  }

  const { zones: zoneTexts, closed } = splitBlockText(text, patterns, placeholders, config, ctx, at, where);
  const constraint = validateConstraint(raw, patterns, closed, ctx, at, where);
  const zones: ZcpZone[] = [];
  tagsPerRepetition.forEach((tags, repetition) => {
    zoneTexts.forEach((parts, zone) => {
      const z: ZcpZone = { parts, advance: config.zoneTokens[zone + 1], tags: tags[zone], maxGen, sequence, block: index, zone, repetition };
      if (constraint && zone === zoneTexts.length - 1) z.constraint = constraint;
      zones.push(z);
    });
  });
  return { sequence, index, text, placeholders, zones, repetitions: tagsPerRepetition.length };
}

/**
 * `choices = [...]`, `regex = '...'` or `json_schema = '''{…}'''`: what the block's last zone may generate
 * (docs/language.md#constrained-zones). That zone must be left to generation (its closing
 * token not in the text), and a choice may not hold a trigger pattern (it would fire inside
 * the answer).
 */
function validateConstraint(
  raw: Record<string, unknown>,
  patterns: TriggerPatterns,
  closed: boolean,
  ctx: LintContext,
  at: PathSegment[],
  where: { sequence: string; block: number },
): ZoneConstraint | null {
  const present = CONSTRAINT_FIELDS.filter((k) => raw[k] !== undefined);
  if (present.length === 0) return null;
  if (present.length > 1)
    ctx.fail([...at, present[1]!], `a block has at most one of choices, regex and json_schema`, { ...where, expected: "one of choices, regex, json_schema", found: present.join(" and ") });
  const key = present[0]!;
  if (closed) {
    const last = patterns.zoneTokens[patterns.zoneTokens.length - 1]!;
    ctx.fail([...at, key], `${key} constrains the block's last zone, but the text closes it with ${JSON.stringify(last)}, so nothing is generated there`, {
      ...where,
      expected: `text that stops before ${JSON.stringify(last)} (the model writes the answer, then ${JSON.stringify(last)})`,
      found: `text containing ${JSON.stringify(last)}`,
    });
  }
  if (key === "choices") {
    const choices = raw.choices;
    if (!Array.isArray(choices) || choices.some((c) => typeof c !== "string")) {
      ctx.fail([...at, "choices"], "choices must be a list of strings", { ...where, expected: 'choices = ["yes", "no"]', found: describeValue(choices) });
    }
    try {
      checkChoices(choices);
    } catch (e) {
      if (!(e instanceof RegexError)) throw e;
      ctx.fail(choices.length === 0 ? [...at, "choices"] : [...at, "choices", e.offset], e.reason, { ...where, expected: "distinct non-empty strings", found: describeValue(choices[e.offset]) });
    }
    const triggers = [...patterns.zoneTokens, patterns.controlToken];
    if (patterns.escape?.kind === "single") triggers.push(patterns.escape.token);
    if (patterns.escape?.kind === "pair") triggers.push(patterns.escape.open, patterns.escape.close);
    choices.forEach((c: string, i) => {
      const hit = triggers.find((t) => t !== "" && c.includes(t));
      if (hit !== undefined)
        ctx.fail([...at, "choices", i], `choice ${i} contains the trigger pattern ${JSON.stringify(hit)}, which would fire inside the answer`, {
          ...where,
          expected: "choices without zone tokens, the control token or escapes",
          found: JSON.stringify(c),
        });
    });
    return { kind: "choices", choices: choices.slice() };
  }
  if (key === "json_schema") return validateJsonSchema(raw.json_schema, ctx, at, where);
  const pattern = raw.regex;
  if (typeof pattern !== "string") ctx.fail([...at, "regex"], "regex must be a string", { ...where, expected: "regex = '…' (a TOML literal string keeps backslashes)", found: describeValue(pattern) });
  try {
    compileRegex(pattern);
  } catch (e) {
    if (!(e instanceof RegexError)) throw e;
    ctx.fail([...at, "regex"], `the regex does not compile: ${e.reason} at offset ${e.offset}`, {
      ...where,
      expected: "the regex subset of docs/language.md#constrained-zones",
      found: JSON.stringify(pattern.length > 60 ? pattern.slice(0, 60) + "…" : pattern),
      hint: pattern.includes("\\") ? undefined : "in a TOML basic string \"…\" a backslash must be doubled; a literal string '…' keeps it as written",
    });
  }
  return { kind: "regex", pattern };
}

/**
 * `json_schema = '''{…}'''`: a JSON Schema (as JSON text) compiled to a regex by
 * forge/szcp/json-schema.ts; the zone carries both, and the automata apply the regex.
 */
function validateJsonSchema(source: unknown, ctx: LintContext, at: PathSegment[], where: { sequence: string; block: number }): ZoneConstraint {
  if (typeof source !== "string")
    ctx.fail([...at, "json_schema"], "json_schema must be a string holding the schema's JSON", {
      ...where,
      expected: "json_schema = '''{\"type\": \"object\", …}''' (a TOML literal string keeps backslashes)",
      found: describeValue(source),
    });
  try {
    const { schema, pattern } = compileJsonSchema(source);
    return { kind: "json_schema", schema, pattern };
  } catch (e) {
    if (!(e instanceof JsonSchemaError)) throw e;
    const keyword = e.pointer.split("/").pop();
    return ctx.fail([...at, "json_schema"], `json_schema at ${e.pointer}: ${e.reason}`, {
      ...where,
      expected: "the json_schema subset of docs/language.md#constrained-zones",
      found: e.pointer === "#" ? "the schema" : `${JSON.stringify(keyword)} at ${e.pointer}`,
    });
  }
}

/** Counts a block's zones (repetitions included) against `UDPL_LIMITS.maxZones`, before they are made. */
function spendZones(zones: number, path: PathSegment[], budget: SequenceBudget, ctx: LintContext, where: { sequence: string; block: number }): void {
  budget.zones += zones;
  if (budget.zones > UDPL_LIMITS.maxZones) {
    ctx.fail(path, `the sequences make more than ${limitLabel("maxZones")} zones (repetitions counted); this block brings them to ${budget.zones}`, {
      ...where,
      expected: `at most ${UDPL_LIMITS.maxZones} zones in all`,
      found: `${budget.zones}`,
      hint: "fewer repeats or blocks; the UDPL limits (forge/udpl/limits.ts) bound what a file may make the parser allocate",
    });
  }
}

function validatePlaceholder(
  key: string,
  raw: Record<string, unknown>,
  at: PathSegment[],
  ctx: LintContext,
  where: { sequence: string; block: number },
): PlaceholderSpec {
  for (const field of Object.keys(raw)) {
    if (!PLACEHOLDER_FIELDS.includes(field)) {
      ctx.fail([...at, field], `unknown field "${cut(field)}" in placeholder table [${cut(where.sequence)}.${cut(key)}]`, {
        ...where,
        expected: `one of ${PLACEHOLDER_FIELDS.join(", ")}`,
        found: cut(field),
        hint: suggest(field, PLACEHOLDER_FIELDS) ? `did you mean "${suggest(field, PLACEHOLDER_FIELDS)}"?` : undefined,
      });
    }
  }
  if (typeof raw.name !== "string" || raw.name === "") {
    ctx.fail(raw.name === undefined ? at : [...at, "name"], `placeholder table [${cut(where.sequence)}.${cut(key)}] needs name = "<resource name>"`, {
      ...where,
      expected: "name = non-empty string",
      found: describeValue(raw.name),
    });
  }
  let type: PlaceholderType = "standard";
  if (raw.type !== undefined) {
    const mapped = typeof raw.type === "string" && Object.hasOwn(PLACEHOLDER_TYPES, raw.type) ? PLACEHOLDER_TYPES[raw.type] : undefined;
    if (!mapped) {
      ctx.fail([...at, "type"], `placeholder type must be standard, custom (or control) or argument`, {
        ...where,
        expected: "standard | custom | control | argument",
        found: describeValue(raw.type),
      });
    }
    type = mapped;
  }
  if (raw.arguments !== undefined && !isTable(raw.arguments)) {
    ctx.fail([...at, "arguments"], "placeholder arguments must be a table (passed to the resource)", {
      ...where,
      expected: "table, e.g. { num_samples = 3 }",
      found: describeValue(raw.arguments),
    });
  }
  if (raw.arguments !== undefined) checkNesting(raw.arguments, [...at, "arguments"], ctx);
  return { placeholder: key, resource: raw.name, type, arguments: (raw.arguments as Record<string, unknown> | undefined) ?? {} };
}

function validateTags(
  raw: unknown,
  at: PathSegment[],
  config: UdplConfig,
  ctx: LintContext,
  where: { sequence: string; block: number },
  budget: SequenceBudget,
): string[][] {
  const valid = budget.validTags ?? new Set(config.validTags);
  const n = config.zoneTokens.length - 1;
  if (!Array.isArray(raw) || raw.length !== n) {
    ctx.fail(at, `tags must be a list of ${n} lists, one per zone`, {
      ...where,
      expected: `${n} lists of tags (zones: ${config.zoneTokens.slice(0, -1).map((t, k) => `${t}→${config.zoneTokens[k + 1]}`).join(", ")})`,
      found: describeValue(raw),
    });
  }
  return raw.map((zoneTags, k) => {
    if (!Array.isArray(zoneTags)) {
      ctx.fail([...at, k], `tags for zone ${k} must be a list of tag names`, { ...where, expected: "array of strings", found: describeValue(zoneTags) });
    }
    zoneTags.forEach((tag, j) => {
      if (typeof tag !== "string" || !valid.has(tag)) {
        const guess = typeof tag === "string" ? suggest(tag, config.validTags) : undefined;
        ctx.fail([...at, k, j], `tag ${typeof tag === "string" ? quote(tag) : describeValue(tag)} is not in valid_tags`, {
          ...where,
          expected: `one of valid_tags ${listForMessage(config.validTags)}`,
          found: typeof tag === "string" ? quote(tag) : describeValue(tag),
          hint: guess ? `did you mean "${guess}"? otherwise add it to valid_tags in [config]` : "add it to valid_tags in [config]",
        });
      }
    });
    return zoneTags as string[];
  });
}

function splitBlockText(
  text: string,
  patterns: TriggerPatterns,
  placeholders: Record<string, PlaceholderSpec>,
  config: UdplConfig,
  ctx: LintContext,
  at: PathSegment[],
  where: { sequence: string; block: number },
): { zones: TextPart[][]; closed: boolean } {
  const textPath = [...at, "text"];
  ctx.limit("maxTextLength", text.length, textPath, "the length of the block text", where);
  const occurrences = countTriggers(text, patterns, UDPL_LIMITS.maxTriggerOccurrences);
  if (occurrences > UDPL_LIMITS.maxTriggerOccurrences) {
    ctx.fail(textPath, `the block text holds more than ${limitLabel("maxTriggerOccurrences")} occurrences of trigger patterns (zone tokens, control token, escapes; overlapping ones counted)`, {
      ...where,
      expected: `at most ${UDPL_LIMITS.maxTriggerOccurrences}`,
      found: "more",
      hint: "split the text over several blocks",
    });
  }
  const split = splitZones(text, patterns);
  const lines = new LineIndex(text);
  // Errors first (the first one throws), so a broken block never also yields warnings.
  const ordered = split.issues.filter((i) => i.severity === "error").concat(split.issues.filter((i) => i.severity === "warning"));
  for (const issue of ordered) reportTextIssue(issue, lines, textPath, where, ctx);

  config.requiredTokens.forEach((token) => {
    if (!split.present[config.zoneTokens.indexOf(token)]) {
      ctx.fail(textPath, `block text lacks the required token ${JSON.stringify(token)} (or it is escaped)`, {
        ...where,
        expected: `text containing ${JSON.stringify(token)}`,
        found: JSON.stringify(text.length > 40 ? text.slice(0, 40) + "…" : text),
      });
    }
  });

  const used = new Set<string>();
  const zones = split.pieces.map((piece) => {
    const { segments, issues } = parseTemplate(text.slice(piece.start, piece.end), piece.start, split.matches, true);
    for (const issue of issues) reportTextIssue(issue, lines, textPath, where, ctx);
    return segments.map((seg): TextPart => {
      if (seg.kind === "literal") return seg;
      const spec = placeholders[seg.name];
      if (!spec) {
        const pos = lines.position(seg.offset);
        const ph = cut(seg.name);
        ctx.fail(textPath, `placeholder {${ph}} has no table [${cut(where.sequence)}.${ph}] (text line ${pos.line}, column ${pos.column})`, {
          ...where,
          expected: `a table [${cut(where.sequence)}.${ph}] with name = "<resource>" after this block`,
          found: `{${ph}}`,
          hint: "write {{ and }} for literal braces",
        });
      }
      used.add(seg.name);
      return { kind: "placeholder", spec };
    });
  });
  for (const key of Object.keys(placeholders)) {
    if (!used.has(key)) {
      ctx.warn([...at, key], `placeholder table [${cut(where.sequence)}.${cut(key)}] is declared but {${cut(key)}} does not appear in the block's text`, where);
    }
  }
  return { zones, closed: split.present[config.zoneTokens.length - 1] === true };
}

/**
 * Occurrences of the trigger patterns in the text, overlapping ones included (as many as
 * zcp/text.ts's scan will collect and sort), counted up to just past `limit`: so the scan
 * runs only on texts where its work and memory are bounded. O(patterns × text + limit × pattern length).
 */
function countTriggers(text: string, p: TriggerPatterns, limit: number): number {
  const patterns = [...p.zoneTokens, p.controlToken];
  if (p.escape?.kind === "single") patterns.push(p.escape.token);
  if (p.escape?.kind === "pair") patterns.push(p.escape.open, p.escape.close);
  let n = 0;
  for (const pattern of patterns) {
    if (pattern.length === 0) continue;
    for (let at = text.indexOf(pattern); at >= 0; at = text.indexOf(pattern, at + 1)) if (++n > limit) return n;
  }
  return n;
}

/** Errors throw; warnings are collected. Positions inside the text are given as text line/column (one line index per text). */
function reportTextIssue(issue: TextIssue, lines: LineIndex, textPath: PathSegment[], where: { sequence: string; block: number }, ctx: LintContext): void {
  if (issue.severity === "warning" && ctx.warningsFull) return ctx.warn(textPath, issue.message); // counted only
  const pos = lines.position(issue.offset);
  const message = `${issue.message} (text line ${pos.line}, column ${pos.column})`;
  const details = { ...where, expected: issue.expected, found: issue.found };
  if (issue.severity === "error") ctx.fail(textPath, message, details);
  ctx.warn(textPath, message, details);
}
