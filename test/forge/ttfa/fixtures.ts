/**
 * Workflows for the TTFA tests, built directly as SZCP objects (the frontend is tested
 * elsewhere): a small builder for hand-written ones and a seeded generator of random
 * programs with scripted token streams for the differential test.
 */
import { seededRandom } from "../../../forge/resources/random.js";
import { SZCP_FORMAT, SZCP_VERSION, type EscapeSpec, type SzcpWorkflow, type SzcpZone } from "../../../forge/szcp/types.js";

export const ZONE_TOKENS = ["[Prompt]", "[Answer]", "[EOS]"];
export const CONTROL = "[Jump]";

/** A zone with defaults: advance "[EOS]", next = END, no jump. */
export function zone(fields: Partial<SzcpZone> & { text: string }): SzcpZone {
  return {
    advance: "[EOS]",
    next: -1,
    jump: null,
    loop: null,
    tags: [],
    maxGen: 16,
    capture: null,
    feed: null,
    sequence: "main",
    block: 0,
    zone: 0,
    repetition: 0,
    ...fields,
  };
}

export function workflow(zones: SzcpZone[], options: { escape?: EscapeSpec | null; counters?: number; tools?: string[]; zoneTokens?: string[]; control?: string } = {}): SzcpWorkflow {
  return {
    format: SZCP_FORMAT,
    version: SZCP_VERSION,
    config: {
      zoneTokens: options.zoneTokens ?? ZONE_TOKENS,
      controlToken: options.control ?? CONTROL,
      escape: options.escape ?? null,
      tokenizerOverride: {},
      tools: options.tools ?? ["search"],
    },
    zones,
    counters: options.counters ?? 0,
    extractions: [],
    meta: {},
  };
}

/** Small seeded PRNG (mulberry32) so every random program is reproducible from its seed. */
export function rng(seed: number): { next(): number; int(n: number): number; pick<T>(xs: readonly T[]): T; chance(p: number): boolean } {
  const next = seededRandom(seed);
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)]!,
    chance: (p) => next() < p,
  };
}

export const SINGLE_ESCAPE: EscapeSpec = { kind: "single", token: "[Esc]" };
export const PAIR_ESCAPE: EscapeSpec = { kind: "pair", open: "<<", close: ">>" };
const WORDS = ["the", " answer", " is", " 42", " [", "Jump", "]", "Ans", "wer", "[E", "OS", "<", ">", " ok", "\n", "é", "Esc"];

/** Text made of words and whole patterns (patterns fire while the text is fed). */
function randomText(r: ReturnType<typeof rng>, patterns: string[], maxPieces: number): string {
  let text = "";
  const n = r.int(maxPieces + 1);
  for (let i = 0; i < n; i++) text += r.chance(0.25) ? r.pick(patterns) : r.pick(WORDS);
  return text;
}

/** A random program: zone count, loops with min/max, when-branches, escapes, small maxGen, capture/feed zones. */
export function randomWorkflow(seed: number): SzcpWorkflow {
  const r = rng(seed);
  const Z = 1 + r.int(7);
  const counters = r.int(3);
  const escape = r.pick([null, SINGLE_ESCAPE, PAIR_ESCAPE]);
  const patterns = [...ZONE_TOKENS, CONTROL, ...(escape?.kind === "single" ? [escape.token] : escape ? [escape.open, escape.close] : [])];
  const zones: SzcpZone[] = [];
  for (let z = 0; z < Z; z++) {
    const target = () => (r.chance(0.15) ? -1 : r.chance(0.6) ? (z + 1 < Z ? z + 1 : -1) : r.int(Z));
    const isJump = r.chance(0.5);
    const loop = isJump && counters > 0 && r.chance(0.6)
      ? { counter: r.int(counters), min: r.chance(0.5) ? r.int(3) : null, max: r.chance(0.6) ? 0 : null }
      : null;
    if (loop && loop.max !== null) loop.max = (loop.min ?? 0) + r.int(3);
    const advance = r.pick(ZONE_TOKENS.slice(1));
    let text = randomText(r, patterns, 4);
    if (r.chance(0.2)) text += advance; // a zone that needs no generation
    zones.push(
      zone({
        text,
        advance,
        next: target(),
        jump: isJump ? target() : null,
        loop,
        maxGen: r.int(7),
        capture: r.chance(0.2) ? r.pick(["search", "calc"]) : null,
        feed: z > 0 && r.chance(0.2) ? r.pick(["search", "calc"]) : null,
        sequence: `seq${r.int(3)}`,
        block: r.int(2),
        zone: r.int(2),
        tags: r.chance(0.5) ? ["t"] : [],
      }),
    );
  }
  // Most feed zones follow a capture zone, as in capture(…) then feed(…).
  zones.forEach((zn, i) => {
    if (zn.feed && i > 0 && r.chance(0.7)) zones[i - 1]!.capture = zn.feed;
  });
  return workflow(zones, { escape, counters, tools: ["search", "calc"] });
}

/** Sampled tokens for one stream: random ids mixed with whole and split patterns, so triggers fire across token and forced/generated boundaries. */
export function randomScript(
  seed: number,
  length: number,
  tokenizer: { vocabSize: number; encode(text: string): number[] },
  patterns: string[],
): Int32Array {
  const r = rng(seed);
  const out: number[] = [];
  while (out.length < length) {
    const roll = r.next();
    if (roll < 0.4) out.push(r.int(tokenizer.vocabSize + (r.chance(0.05) ? 3 : 0)));
    else if (roll < 0.65) out.push(...tokenizer.encode(r.pick(patterns)));
    else if (roll < 0.85) {
      // half a pattern: its first or second half at a random byte offset
      const p = r.pick(patterns);
      const cut = 1 + r.int(p.length - 1);
      out.push(...tokenizer.encode(r.chance(0.5) ? p.slice(0, cut) : p.slice(cut)));
    } else out.push(...tokenizer.encode(r.pick(WORDS)));
  }
  return Int32Array.from(out.slice(0, length));
}
