/**
 * SZCP → LZCP: tokenize every text (each distinct string once), turn tag lists into masks
 * and tool names into ids, and check everything the automaton relies on. A violated rule
 * is an LzcpError naming the zone and the field.
 */
import { END, type SzcpWorkflow, type SzcpZone } from "../szcp/types.js";
import type { ForgeTokenizer } from "../tokenizer/types.js";
import { chatTemplateOf } from "../tokenizer/chat-template.js";
import { UdplError } from "../udpl/errors.js";
import { LzcpError } from "./errors.js";
import type { LzcpEscape, LzcpExtraction, LzcpWorkflow, LzcpZone } from "./types.js";
import { vocabularyOf } from "./vocabulary.js";

const utf8 = new TextEncoder();

export function lowerWorkflow(workflow: SzcpWorkflow, tokenizer: ForgeTokenizer): LzcpWorkflow {
  const { config, zones } = workflow;
  if (!Array.isArray(zones) || zones.length === 0) throw new LzcpError("the workflow has no zones", "zones");
  const zoneCount = zones.length;
  if (!Number.isInteger(workflow.counters) || workflow.counters < 0)
    throw new LzcpError(`expected a non-negative integer, found ${String(workflow.counters)}`, "counters");

  // Tokenize each distinct text once (tokenizers run at about 1 MB/s).
  const tokenCache = new Map<string, Int32Array>();
  const tokenize = (text: string): Int32Array => {
    let tokens = tokenCache.get(text);
    if (!tokens) {
      tokens = Int32Array.from(tokenizer.encode(text));
      tokenCache.set(text, tokens);
    }
    return tokens;
  };

  // Patterns: zone tokens, then control, then escapes; each role must be a distinct string.
  const patterns: string[] = [];
  const patternIndex = (text: string, where: string): number => {
    if (typeof text !== "string" || text.length === 0)
      throw new LzcpError("a trigger pattern must be a non-empty string", where);
    const found = patterns.indexOf(text);
    if (found >= 0) return found;
    patterns.push(text);
    return patterns.length - 1;
  };
  config.zoneTokens.forEach((t, i) => patternIndex(t, `config.zoneTokens[${i}]`));
  const zoneAdvances = zones.map((z, i) => patternIndex(z.advance, `zones[${i}].advance`));
  const zonePatternCount = patterns.length;
  const control = patternIndex(config.controlToken, "config.controlToken");
  if (control < zonePatternCount)
    throw new LzcpError(
      `the control pattern ${JSON.stringify(config.controlToken)} is also a zone pattern; the automaton could not tell a jump from an advance`,
      "config.controlToken",
    );
  let escape: LzcpEscape | null = null;
  const escapeIndex = (text: string, where: string): number => {
    const before = patterns.length;
    const index = patternIndex(text, where);
    if (index < before)
      throw new LzcpError(`the escape pattern ${JSON.stringify(text)} is already used as another pattern`, where);
    return index;
  };
  if (config.escape) {
    if (config.escape.kind === "single") escape = { kind: "single", token: escapeIndex(config.escape.token, "config.escape.token") };
    else if (config.escape.kind === "pair")
      escape = {
        kind: "pair",
        open: escapeIndex(config.escape.open, "config.escape.open"),
        close: escapeIndex(config.escape.close, "config.escape.close"),
      };
    else throw new LzcpError(`unknown escape kind ${JSON.stringify((config.escape as { kind: unknown }).kind)}`, "config.escape.kind");
  }

  // An injected advance pattern must spell the pattern's exact bytes, or it would never fire.
  const patternTokens = patterns.map((p, i) => {
    const tokens = tokenize(p);
    const bytes = concatBytes(Array.from(tokens, (t) => tokenizer.tokenBytes(t)));
    if (!sameBytes(bytes, utf8.encode(p)))
      throw new LzcpError(
        `tokenizer ${tokenizer.identity} does not encode the pattern ${JSON.stringify(p)} to its own bytes, so injecting it could not fire the trigger`,
        `patterns[${i}]`,
      );
    return tokens;
  });

  const toolNames = [...config.tools];
  const toolId = (name: string | null, where: string): number => {
    if (name === null || name === undefined) return -1;
    const id = toolNames.indexOf(name);
    if (id < 0) throw new LzcpError(`unknown tool ${JSON.stringify(name)}; config.tools has ${JSON.stringify(toolNames)}`, where);
    return id;
  };

  // Tag names: zone tags and extraction tags, in order of first appearance.
  const tagNames: string[] = [];
  const addTag = (t: string) => {
    if (!tagNames.includes(t)) tagNames.push(t);
  };
  zones.forEach((z) => z.tags.forEach(addTag));
  workflow.extractions.forEach((e) => e.tags.forEach(addTag));
  const maskOf = (tags: string[]) => {
    const mask = new Uint8Array(tagNames.length);
    for (const t of tags) mask[tagNames.indexOf(t)] = 1;
    return mask;
  };

  const checkTarget = (value: number, where: string) => {
    if (!Number.isInteger(value) || value < END || value >= zoneCount)
      throw new LzcpError(`expected a zone id in 0..${zoneCount - 1} or END (-1), found ${String(value)}`, where);
  };
  const chatPrefix = chatRolePrefixes(workflow, tokenizer, patterns);
  const lowered: LzcpZone[] = zones.map((z: SzcpZone, i): LzcpZone => {
    const at = `zones[${i}] (${z.sequence} block ${z.block} zone ${z.zone})`;
    checkTarget(z.next, `${at}.next`);
    if (z.jump !== null) checkTarget(z.jump, `${at}.jump`);
    if (!Number.isInteger(z.maxGen) || z.maxGen < 0)
      throw new LzcpError(`expected a non-negative integer, found ${String(z.maxGen)}`, `${at}.maxGen`);
    if (z.loop) {
      if (z.jump === null) throw new LzcpError("a loop head must be a jump site (jump is null)", `${at}.loop`);
      const { counter, min, max } = z.loop;
      if (!Number.isInteger(counter) || counter < 0 || counter >= workflow.counters)
        throw new LzcpError(`expected a counter in 0..${workflow.counters - 1}, found ${String(counter)}`, `${at}.loop.counter`);
      for (const [name, v] of [["min", min], ["max", max]] as const)
        if (v !== null && (!Number.isInteger(v) || v < 0))
          throw new LzcpError(`expected null or a non-negative integer, found ${String(v)}`, `${at}.loop.${name}`);
      if (min !== null && max !== null && min > max)
        throw new LzcpError(`min (${min}) is greater than max (${max})`, `${at}.loop`);
    }
    if (z.constraint && z.feed !== null)
      throw new LzcpError("a feed zone cannot be constrained: the tool's output replaces its generation", `${at}.constraint`);
    return {
      promptTokens: tokenize(chatPrefix ? chatPrefix(i, z) + z.text : z.text),
      advance: zoneAdvances[i]!,
      next: z.next,
      jump: z.jump,
      loop: z.loop ? { ...z.loop } : null,
      tagMask: maskOf(z.tags),
      maxGen: z.maxGen,
      capture: toolId(z.capture, `${at}.capture`),
      feed: toolId(z.feed, `${at}.feed`),
      sequence: z.sequence,
      block: z.block,
      zone: z.zone,
      repetition: z.repetition,
      constraint: z.constraint ?? null,
    };
  });

  const extractions: LzcpExtraction[] = workflow.extractions.map((e) => ({
    name: e.name,
    tags: [...e.tags],
    tagMask: maskOf(e.tags),
  }));

  return {
    tokenizer: tokenizer.identity,
    vocabSize: tokenizer.vocabSize,
    padId: tokenizer.padId,
    patterns,
    patternTokens,
    control,
    escape,
    zones: lowered,
    counters: workflow.counters,
    tagNames,
    toolNames,
    extractions,
    vocabulary: vocabularyOf(tokenizer),
  };
}

/**
 * `config.chatRoles` (UDPL `chat_roles`): each zone opens a chat turn of its role with the
 * model's chat-template markers (forge/tokenizer/chat-template.ts) — the conversation's start
 * before zone 0 (where execution begins), the close of the previous turn before every other
 * zone — so a zone's forced text and its generation are one turn, as the model was tuned to
 * read. Null when the workflow asks for no wrapping.
 */
function chatRolePrefixes(workflow: SzcpWorkflow, tokenizer: ForgeTokenizer, patterns: readonly string[]): ((i: number, z: SzcpZone) => string) | null {
  const roles = workflow.config.chatRoles;
  if (roles === undefined) return null;
  const perBlock = workflow.config.zoneTokens.length - 1;
  if (roles.length !== perBlock)
    throw new LzcpError(`${roles.length} chat roles for ${perBlock} zones per block`, "config.chatRoles");
  const template = chatTemplateOf(tokenizer);
  if (template === null) {
    const source = workflow.meta["source"];
    throw new UdplError({
      file: typeof source === "string" && source !== "" ? source : "[config]",
      line: 0,
      column: 0,
      key: "config.chat_roles",
      message: `chat_roles wraps zones in the model's chat template, but tokenizer ${tokenizer.identity} has none (its tokenizer_config.json has no chat_template)`,
      hint: "use an instruction-tuned model folder whose tokenizer_config.json has a chat_template, or remove chat_roles",
    });
  }
  const markers = template.roleMarkers();
  // Zone 0 opens the conversation once; entering it again would repeat BOS and the system turn.
  workflow.zones.forEach((z, i) => {
    if (z.next === 0 || z.jump === 0)
      throw new LzcpError("with chat_roles, zone 0 (which opens the conversation) cannot be entered again", `zones[${i}].${z.next === 0 ? "next" : "jump"}`);
  });
  // A marker spelling a trigger pattern would fire it the moment it is forced.
  const check = (marker: string, what: string) => {
    for (const p of patterns)
      if (marker.includes(p)) throw new LzcpError(`the chat template's ${what} ${JSON.stringify(marker)} contains the trigger pattern ${JSON.stringify(p)}`, "config.chatRoles");
  };
  check(markers.start, "start");
  check(markers.close, "turn close");
  for (const role of roles) check(markers.open[role], `${role} opening`);
  return (i, z) => {
    const role = roles[z.zone];
    if (role === undefined) throw new LzcpError(`zone index ${z.zone} has no chat role (config.chatRoles has ${roles.length})`, `zones[${i}].zone`);
    return (i === 0 ? markers.start : markers.close) + markers.open[role];
  };
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
