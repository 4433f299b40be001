/**
 * LZCP → TTFA program: lay the zones out column-wise, concatenate all forced tokens into
 * one Int32Array (each distinct token run once), and build the token-level trigger table
 * from the vocabulary bytes the LZCP captured. Pure: no tokenizer, no tensors.
 */
import { lowerWorkflow } from "../lzcp/lower.js";
import type { LzcpWorkflow } from "../lzcp/types.js";
import type { SzcpWorkflow } from "../szcp/types.js";
import type { ForgeTokenizer } from "../tokenizer/types.js";
import { TtfaError } from "./errors.js";
import { buildTriggerTable } from "./trigger.js";
import { buildConstraintTable, constraintRequests } from "./constraint.js";
import { cachedProgram } from "./compile-cache.js";
import { TTFA_FORMAT, TTFA_VERSION, type TtfaProgram } from "./types.js";

export function assembleProgram(lzcp: LzcpWorkflow): TtfaProgram {
  const Z = lzcp.zones.length;
  const T = lzcp.tagNames.length;
  const column = () => new Int32Array(Z);
  const p = {
    feedStart: column(), feedEnd: column(), advance: column(), advanceStart: column(), advanceEnd: column(),
    next: column(), jump: column(), maxGen: column(), counter: column(), min: column(), max: column(),
    capture: column(), feed: column(), sequence: column(), block: column(), zone: column(), repetition: column(),
  };
  const tags = new Uint8Array(Z * T);

  // Forced tokens: one copy per distinct run (the same prompt or pattern array is shared).
  const runs = new Map<Int32Array, number>();
  const forced: number[] = [];
  const place = (tokens: Int32Array): number => {
    let at = runs.get(tokens);
    if (at === undefined) {
      at = forced.length;
      for (const t of tokens) forced.push(t);
      runs.set(tokens, at);
    }
    return at;
  };
  const sequenceNames: string[] = [];
  const target = (t: number) => (t === -1 ? Z : t); // END → Z

  lzcp.zones.forEach((zone, z) => {
    p.feedStart[z] = place(zone.promptTokens);
    p.feedEnd[z] = p.feedStart[z]! + zone.promptTokens.length;
    const pattern = lzcp.patternTokens[zone.advance]!;
    p.advance[z] = zone.advance;
    p.advanceStart[z] = place(pattern);
    p.advanceEnd[z] = p.advanceStart[z]! + pattern.length;
    p.next[z] = target(zone.next);
    p.jump[z] = zone.jump === null ? -1 : target(zone.jump);
    p.maxGen[z] = zone.maxGen;
    p.counter[z] = zone.loop ? zone.loop.counter : -1;
    p.min[z] = zone.loop?.min ?? -1;
    p.max[z] = zone.loop?.max ?? -1;
    p.capture[z] = zone.capture;
    p.feed[z] = zone.feed;
    let s = sequenceNames.indexOf(zone.sequence);
    if (s < 0) s = sequenceNames.push(zone.sequence) - 1;
    p.sequence[z] = s;
    p.block[z] = zone.block;
    p.zone[z] = zone.zone;
    p.repetition[z] = zone.repetition;
    tags.set(zone.tagMask, z * T);
  });

  const constrained = buildConstraintTable(
    constraintRequests(lzcp.zones, (z) => lzcp.patterns[lzcp.zones[z]!.advance]!, lzcp.patterns[lzcp.control]!),
    lzcp.vocabulary,
  );
  const escape = lzcp.escape;
  return {
    format: TTFA_FORMAT,
    version: TTFA_VERSION,
    tokenizer: lzcp.tokenizer,
    vocabSize: lzcp.vocabSize,
    padId: lzcp.padId,
    zoneCount: Z,
    ...p,
    tags,
    sequenceNames,
    forcedTokens: Int32Array.from(forced),
    counterCount: lzcp.counters,
    control: lzcp.control,
    escapeSingle: escape?.kind === "single" ? escape.token : -1,
    escapeOpen: escape?.kind === "pair" ? escape.open : -1,
    escapeClose: escape?.kind === "pair" ? escape.close : -1,
    trigger: buildTriggerTable(lzcp.patterns, lzcp.vocabulary),
    constraintStart: constrained.start,
    constraintIndex: constrained.index,
    constraints: constrained.table,
    tagNames: [...lzcp.tagNames],
    toolNames: [...lzcp.toolNames],
    extractions: lzcp.extractions.map((e) => ({ name: e.name, tags: [...e.tags], tagMask: e.tagMask.slice() })),
  };
}

/**
 * SZCP → LZCP → TTFA in one call: what a backend does with a received workflow. The program
 * is cached per (tokenizer, workflow hash) (compile-cache.ts): a backend's check and run of
 * the same workflow compile it once.
 */
export function compileForBackend(workflow: SzcpWorkflow, tokenizer: ForgeTokenizer): TtfaProgram {
  return cachedProgram(tokenizer, workflow, () => assembleProgram(lowerWorkflow(workflow, tokenizer)));
}

/** Refuse a program compiled for another tokenizer: its token ids would mean other text. */
export function checkProgramTokenizer(program: TtfaProgram, tokenizer: Pick<ForgeTokenizer, "identity">): void {
  if (program.tokenizer !== tokenizer.identity)
    throw new TtfaError(
      `this TTFA program was compiled for tokenizer "${program.tokenizer}", but the backend's tokenizer is "${tokenizer.identity}"; recompile the workflow for this backend`,
    );
}
