/**
 * Sequence validation: each `[[name]]` table is a block. Checks every block field, splits
 * the text into zones (zcp/text.ts), resolves placeholders against their tables, and emits
 * the ZCP sequence.
 */
import { parseTemplate, splitZones, lineColumnOf, type TextIssue, type TriggerPatterns } from "../zcp/text.js";
import type { PlaceholderSpec, PlaceholderType, TextPart, ZcpBlock, ZcpSequence, ZcpZone } from "../zcp/types.js";
import { positiveInt } from "./config.js";
import { describeValue, isTable, suggest, type LintContext } from "./context.js";
import type { PathSegment } from "./locate.js";
import { DEFAULT_MAX_GEN, type UdplConfig } from "./types.js";

const BLOCK_FIELDS = ["text", "tags", "tagset", "repeats", "max_gen_tokens"];
const PLACEHOLDER_FIELDS = ["name", "type", "arguments"];
const PLACEHOLDER_TYPES: Record<string, PlaceholderType> = {
  standard: "standard",
  custom: "custom",
  control: "custom", // the seed's spelling
  argument: "argument",
};

export function validateSequence(name: string, raw: unknown, config: UdplConfig, ctx: LintContext, listed: boolean): ZcpSequence {
  if (!Array.isArray(raw)) {
    if (isTable(raw)) {
      ctx.fail([name], `[${name}] is a single table; the blocks of a sequence are an array of tables`, {
        sequence: name,
        expected: `[[${name}]]`,
        found: `[${name}]`,
        hint: `write [[${name}]] (double brackets) for each block`,
      });
    }
    ctx.fail([name], `top-level key "${name}" is neither [config] nor a [[sequence]] block`, {
      sequence: name,
      expected: "[config] fields inside [config], blocks as [[name]] tables",
      found: describeValue(raw),
      hint: "a key written above [config] belongs to the top level; move it under its table",
    });
  }
  if (raw.length === 0) ctx.fail([name], `sequence "${name}" has no blocks`, { sequence: name, expected: `at least one [[${name}]]`, found: "0 blocks" });
  const patterns: TriggerPatterns = { zoneTokens: config.zoneTokens, controlToken: config.controlToken, escape: config.escape };
  const blocks = raw.map((b, i) => validateBlock(name, i, b, config, patterns, ctx));
  return { name, file: ctx.file, listed, blocks, zones: blocks.flatMap((b) => b.zones) };
}

function validateBlock(
  sequence: string,
  index: number,
  raw: unknown,
  config: UdplConfig,
  patterns: TriggerPatterns,
  ctx: LintContext,
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
      ctx.fail([...at, key], `unknown block field "${key}"`, {
        ...where,
        expected: `one of ${BLOCK_FIELDS.join(", ")}, or a placeholder table [${sequence}.name]`,
        found: key,
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
  const repeats = positiveInt(raw.repeats, [...at, "repeats"], ctx, where);
  const maxGen = positiveInt(raw.max_gen_tokens, [...at, "max_gen_tokens"], ctx, where) ?? config.defaultMaxTokenLength ?? DEFAULT_MAX_GEN;

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
    tagsPerRepetition = raw.tagset.map((t, r) => validateTags(t, [...at, "tagset", r], config, ctx, where));
  } else {
    const tags = raw.tags === undefined ? null : validateTags(raw.tags, [...at, "tags"], config, ctx, where);
    tagsPerRepetition = Array.from({ length: repeats ?? 1 }, () => tags ?? Array.from({ length: zonesPerBlock }, () => []));
  }

  const zoneTexts = splitBlockText(text, patterns, placeholders, config, ctx, at, where);
  const zones: ZcpZone[] = [];
  tagsPerRepetition.forEach((tags, repetition) => {
    zoneTexts.forEach((parts, zone) => {
      zones.push({ parts, advance: config.zoneTokens[zone + 1], tags: tags[zone], maxGen, sequence, block: index, zone, repetition });
    });
  });
  return { sequence, index, text, placeholders, zones, repetitions: tagsPerRepetition.length };
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
      ctx.fail([...at, field], `unknown field "${field}" in placeholder table [${where.sequence}.${key}]`, {
        ...where,
        expected: `one of ${PLACEHOLDER_FIELDS.join(", ")}`,
        found: field,
        hint: suggest(field, PLACEHOLDER_FIELDS) ? `did you mean "${suggest(field, PLACEHOLDER_FIELDS)}"?` : undefined,
      });
    }
  }
  if (typeof raw.name !== "string" || raw.name === "") {
    ctx.fail(raw.name === undefined ? at : [...at, "name"], `placeholder table [${where.sequence}.${key}] needs name = "<resource name>"`, {
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
  return { placeholder: key, resource: raw.name, type, arguments: (raw.arguments as Record<string, unknown> | undefined) ?? {} };
}

function validateTags(raw: unknown, at: PathSegment[], config: UdplConfig, ctx: LintContext, where: { sequence: string; block: number }): string[][] {
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
      if (typeof tag !== "string" || !config.validTags.includes(tag)) {
        const guess = typeof tag === "string" ? suggest(tag, config.validTags) : undefined;
        ctx.fail([...at, k, j], `tag ${typeof tag === "string" ? JSON.stringify(tag) : describeValue(tag)} is not in valid_tags`, {
          ...where,
          expected: `one of valid_tags ${JSON.stringify(config.validTags)}`,
          found: typeof tag === "string" ? JSON.stringify(tag) : describeValue(tag),
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
): TextPart[][] {
  const textPath = [...at, "text"];
  const split = splitZones(text, patterns);
  // Errors first (the first one throws), so a broken block never also yields warnings.
  const ordered = split.issues.filter((i) => i.severity === "error").concat(split.issues.filter((i) => i.severity === "warning"));
  for (const issue of ordered) reportTextIssue(issue, text, textPath, where, ctx);

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
    const { segments, issues } = parseTemplate(text.slice(piece.start, piece.end), piece.start, split.matches);
    for (const issue of issues) reportTextIssue(issue, text, textPath, where, ctx);
    return segments.map((seg): TextPart => {
      if (seg.kind === "literal") return seg;
      const spec = placeholders[seg.name];
      if (!spec) {
        const pos = lineColumnOf(text, seg.offset);
        ctx.fail(textPath, `placeholder {${seg.name}} has no table [${where.sequence}.${seg.name}] (text line ${pos.line}, column ${pos.column})`, {
          ...where,
          expected: `a table [${where.sequence}.${seg.name}] with name = "<resource>" after this block`,
          found: `{${seg.name}}`,
          hint: "write {{ and }} for literal braces",
        });
      }
      used.add(seg.name);
      return { kind: "placeholder", spec };
    });
  });
  for (const key of Object.keys(placeholders)) {
    if (!used.has(key)) {
      ctx.warn([...at, key], `placeholder table [${where.sequence}.${key}] is declared but {${key}} does not appear in the block's text`, where);
    }
  }
  return zones;
}

/** Errors throw; warnings are collected. Positions inside the text are given as text line/column. */
function reportTextIssue(issue: TextIssue, text: string, textPath: PathSegment[], where: { sequence: string; block: number }, ctx: LintContext): void {
  const pos = lineColumnOf(text, issue.offset);
  const message = `${issue.message} (text line ${pos.line}, column ${pos.column})`;
  const details = { ...where, expected: issue.expected, found: issue.found };
  if (issue.severity === "error") ctx.fail(textPath, message, details);
  ctx.warn(textPath, message, details);
}
