/**
 * `[config]` validation (docs/language.md#config): every field's type and rule, and the patterns'
 * consistency (no pattern may be another's duplicate, or triggers become ambiguous).
 */
import type { EscapeSpec } from "../szcp/types.js";
import { CHAT_ROLES, type ChatRole } from "../tokenizer/chat-template.js";
import { cut, describeValue, isTable, suggest, type LintContext } from "./context.js";
import { UDPL_LIMITS, type UdplLimitName } from "./limits.js";
import type { PathSegment } from "./locate.js";
import type { UdplConfig } from "./types.js";

const CONFIG_FIELDS = [
  "zone_tokens",
  "required_tokens",
  "valid_tags",
  "sequences",
  "control_token",
  "escape_token",
  "escape_patterns",
  "default_max_token_length",
  "tokenizer_override",
  "tools",
  "chat_roles",
] as const;

export function validateConfig(raw: unknown, ctx: LintContext): UdplConfig {
  const at = (key: string): PathSegment[] => ["config", key];
  if (!isTable(raw)) {
    ctx.fail(["config"], "[config] must be a table", { expected: "[config] table", found: describeValue(raw) });
  }
  for (const key of Object.keys(raw)) {
    if (!(CONFIG_FIELDS as readonly string[]).includes(key)) {
      const guess = suggest(key, CONFIG_FIELDS);
      ctx.fail(at(key), `unknown field "${cut(key)}" in [config]`, {
        expected: `one of ${CONFIG_FIELDS.join(", ")}`,
        found: cut(key),
        hint: guess ? `did you mean "${guess}"?` : undefined,
      });
    }
  }

  const zoneTokens = stringList(raw, "zone_tokens", ctx, { required: true, nonEmptyItems: true, unique: true, limit: "maxZoneTokens" });
  zoneTokens.forEach((t, i) => ctx.limit("maxPatternBytes", utf8Length(t), [...at("zone_tokens"), i], `the UTF-8 length of zone token ${i}`));
  if (zoneTokens.length < 2) {
    ctx.fail(at("zone_tokens"), "zone_tokens needs at least 2 patterns (a block has one zone between each consecutive pair)", {
      expected: "≥ 2 strings",
      found: `${zoneTokens.length}`,
    });
  }

  const requiredTokens = stringList(raw, "required_tokens", ctx, { unique: true });
  requiredTokens.forEach((t, i) => {
    if (!zoneTokens.includes(t)) {
      ctx.fail([...at("required_tokens"), i], `required token ${JSON.stringify(cut(t))} is not one of zone_tokens`, {
        expected: `one of ${JSON.stringify(zoneTokens)}`,
        found: JSON.stringify(cut(t)),
      });
    }
  });

  const validTags = stringList(raw, "valid_tags", ctx, { nonEmptyItems: true, unique: true });
  if (Array.isArray(raw.valid_tags) && validTags.length === 0) {
    ctx.warn(at("valid_tags"), "valid_tags is empty: no block can be tagged, so nothing can be extracted");
  }

  const sequences = stringList(raw, "sequences", ctx, { required: true, nonEmptyItems: true, unique: true });
  if (sequences.length === 0) {
    ctx.fail(at("sequences"), "sequences must list at least one sequence name", { expected: "non-empty list of names", found: "[]" });
  }
  sequences.forEach((name, i) => {
    if (name === "config") {
      ctx.fail([...at("sequences"), i], `"config" cannot be a sequence name: [config] is the configuration table`, {
        expected: "a name other than config",
        found: "config",
      });
    }
  });

  const controlToken = raw.control_token;
  if (typeof controlToken !== "string" || controlToken === "") {
    ctx.fail(at("control_token"), "control_token must be a non-empty string (the pattern the model emits to take a jump)", {
      expected: "non-empty string",
      found: describeValue(controlToken),
    });
  }
  ctx.limit("maxPatternBytes", utf8Length(controlToken), at("control_token"), "the UTF-8 length of control_token");

  const escape = escapeSpec(raw, ctx);
  const defaultMaxTokenLength = positiveInt(raw.default_max_token_length, at("default_max_token_length"), ctx, {}, "maxGenTokens");

  const tokenizerOverride: Record<string, string> = Object.create(null);
  if (raw.tokenizer_override !== undefined) {
    if (!isTable(raw.tokenizer_override)) {
      ctx.fail(at("tokenizer_override"), "tokenizer_override must be a table of special-token names to strings", {
        expected: 'table, e.g. { eos_token = "[EOS]" }',
        found: describeValue(raw.tokenizer_override),
      });
    }
    const entries = Object.entries(raw.tokenizer_override);
    ctx.limit("maxListLength", entries.length, at("tokenizer_override"), "the number of tokenizer_override entries");
    for (const [name, value] of entries) {
      if (typeof value !== "string") {
        ctx.fail([...at("tokenizer_override"), name], `tokenizer_override.${cut(name)} must be a string`, {
          expected: "string",
          found: describeValue(value),
        });
      }
      tokenizerOverride[name] = value;
    }
  }

  const tools = raw.tools === undefined ? null : stringList(raw, "tools", ctx, { nonEmptyItems: true, unique: true });
  const chatRoles = chatRolesOf(raw, zoneTokens.length - 1, ctx);

  // Every trigger pattern must be distinct, or the automaton cannot tell them apart.
  const named: Array<[string, string, PathSegment[]]> = zoneTokens.map((t, i) => [`zone_tokens[${i}]`, t, [...at("zone_tokens"), i]]);
  named.push(["control_token", controlToken, at("control_token")]);
  if (escape?.kind === "single") named.push(["escape token", escape.token, at(escapeKey(raw))]);
  if (escape?.kind === "pair") {
    named.push(["escape open", escape.open, at(escapeKey(raw))]);
    named.push(["escape close", escape.close, at(escapeKey(raw))]);
  }
  // Reported as the pair scan (a, then b > a) would: the first a with a later twin, and its first twin.
  const firstTwin = new Map<string, [number, number]>();
  named.forEach(([, pattern], i) => {
    const seen = firstTwin.get(pattern);
    if (!seen) firstTwin.set(pattern, [i, -1]);
    else if (seen[1] < 0) seen[1] = i;
  });
  let pair: [number, number] | null = null;
  for (const [a, b] of firstTwin.values()) if (b >= 0 && (!pair || a < pair[0])) pair = [a, b];
  if (pair) {
    const [a, b] = pair;
    ctx.fail(named[b][2], `${named[b][0]} repeats the pattern of ${named[a][0]}: every trigger pattern must be distinct`, {
      expected: "distinct patterns",
      found: JSON.stringify(named[b][1]),
    });
  }

  return {
    file: ctx.file,
    zoneTokens,
    requiredTokens,
    validTags,
    sequences,
    controlToken,
    escape,
    defaultMaxTokenLength,
    tokenizerOverride,
    tools,
    ...(chatRoles !== null ? { chatRoles } : {}),
  };
}

/**
 * `chat_roles = ["user", "assistant"]`: one chat role per zone (zone k of every block is a turn of
 * role chat_roles[k]); LZCP then wraps each zone in the model's chat-template markers.
 */
function chatRolesOf(raw: Record<string, unknown>, zonesPerBlock: number, ctx: LintContext): ChatRole[] | null {
  if (raw.chat_roles === undefined) return null;
  const roles = stringList(raw, "chat_roles", ctx, { nonEmptyItems: true });
  const expected = `${zonesPerBlock} roles (one per zone: len(zone_tokens) − 1), each ${CHAT_ROLES.map((r) => JSON.stringify(r)).join(" or ")}`;
  roles.forEach((role, i) => {
    if (!(CHAT_ROLES as readonly string[]).includes(role))
      ctx.fail(["config", "chat_roles", i], `chat_roles[${i}] must be a chat role`, { expected: CHAT_ROLES.join(" or "), found: JSON.stringify(cut(role)) });
  });
  if (roles.length !== zonesPerBlock)
    ctx.fail(["config", "chat_roles"], `chat_roles lists ${roles.length} roles for ${zonesPerBlock} zones per block`, { expected, found: JSON.stringify(roles) });
  return roles as ChatRole[];
}

function escapeKey(raw: Record<string, unknown>): string {
  return raw.escape_patterns !== undefined ? "escape_patterns" : "escape_token";
}

/** `escape_token = "E"` (escapes the next trigger) or a pair `[open, close]`, under either key. */
function escapeSpec(raw: Record<string, unknown>, ctx: LintContext): EscapeSpec | null {
  if (raw.escape_token !== undefined && raw.escape_patterns !== undefined) {
    ctx.fail(["config", "escape_patterns"], "give either escape_token or escape_patterns, not both", {
      expected: "one of escape_token, escape_patterns",
      found: "both",
    });
  }
  const key = escapeKey(raw);
  const v = raw[key];
  if (v === undefined) return null;
  const expected = 'a string ("[Escape]") or a pair of strings (["<esc>", "</esc>"])';
  if (typeof v === "string" && v !== "") {
    ctx.limit("maxPatternBytes", utf8Length(v), ["config", key], `the UTF-8 length of ${key}`);
    return { kind: "single", token: v };
  }
  if (Array.isArray(v) && v.length <= 2 && v.every((x) => typeof x === "string" && x !== "")) {
    v.forEach((x, i) => ctx.limit("maxPatternBytes", utf8Length(x as string), ["config", key, i], `the UTF-8 length of ${key}[${i}]`));
    if (v.length === 1) return { kind: "single", token: v[0] as string };
    if (v.length === 2) {
      if (v[0] === v[1]) ctx.fail(["config", key], "the escape pair's open and close patterns must differ", { expected: "two different strings", found: JSON.stringify(v) });
      return { kind: "pair", open: v[0] as string, close: v[1] as string };
    }
  }
  return ctx.fail(["config", key], `${key} must be ${expected}`, { expected, found: describeValue(v) });
}

function stringList(
  raw: Record<string, unknown>,
  key: string,
  ctx: LintContext,
  opts: { required?: boolean; nonEmptyItems?: boolean; unique?: boolean; limit?: UdplLimitName },
): string[] {
  const v = raw[key];
  const path: PathSegment[] = ["config", key];
  if (v === undefined) {
    if (opts.required) ctx.fail(["config"], `[config] is missing ${key}`, { expected: `${key} = [ "…", … ]`, found: "nothing" });
    return [];
  }
  if (!Array.isArray(v)) ctx.fail(path, `${key} must be a list of strings`, { expected: "array of strings", found: describeValue(v) });
  ctx.limit(opts.limit ?? "maxListLength", v.length, path, `the number of ${key}`);
  const seen = new Set<unknown>();
  v.forEach((item, i) => {
    if (typeof item !== "string" || (opts.nonEmptyItems && item === "")) {
      ctx.fail([...path, i], `${key}[${i}] must be a ${opts.nonEmptyItems ? "non-empty " : ""}string`, {
        expected: "string",
        found: describeValue(item),
      });
    }
    if (opts.unique) {
      if (seen.has(item)) ctx.fail([...path, i], `${key} lists ${JSON.stringify(cut(item))} twice`, { expected: "distinct entries", found: JSON.stringify(cut(item)) });
      seen.add(item);
    }
  });
  return v as string[];
}

/** An optional integer > 0, at most the limit `max` names. */
export function positiveInt(
  v: unknown,
  path: PathSegment[],
  ctx: LintContext,
  details: { sequence?: string; block?: number },
  max: UdplLimitName,
): number | null {
  if (v === undefined) return null;
  const key = String(path[path.length - 1]);
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    ctx.fail(path, `${key} must be an integer > 0`, { ...details, expected: "integer > 0", found: describeValue(v) });
  }
  ctx.limit(max, v, path, key, { ...details, expected: `integer 1 … ${UDPL_LIMITS[max]}`, found: describeValue(v) });
  return v;
}

const utf8 = new TextEncoder();
/** UTF-8 bytes of a trigger pattern: the automaton matches bytes. */
function utf8Length(text: string): number {
  return utf8.encode(text).length;
}
