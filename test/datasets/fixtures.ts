/**
 * Hand-built runs with the structure real ones have: a prompt/answer block, a refine loop
 * whose head is a jump site (some streams loop, one is forced out at max), a final answer,
 * several extractions, unicode and empty texts. Traces, paths and extractions agree: each
 * path segment's step range covers tokens emitted in that zone.
 */
import type { PathSegment, Run, RunMetadata, StreamStatus, StreamTrace, TraceEvent } from "../../forge/run/types.js";
import { END, SZCP_FORMAT, SZCP_VERSION, type SzcpWorkflow, type SzcpZone } from "../../forge/szcp/types.js";

const zone = (over: Partial<SzcpZone> & Pick<SzcpZone, "sequence" | "block" | "zone" | "next">): SzcpZone => ({
  text: "",
  advance: "[Answer]",
  jump: null,
  loop: null,
  tags: [],
  maxGen: 64,
  capture: null,
  feed: null,
  repetition: 0,
  ...over,
});

/** Zones: 0 intro prompt, 1 intro answer (think), 2 refine prompt, 3 refine answer (jump site:
 * control token leaves the loop to 4), 4 final prompt, 5 final answer (answer). */
export const workflow: SzcpWorkflow = {
  format: SZCP_FORMAT,
  version: SZCP_VERSION,
  config: { zoneTokens: ["[Prompt]", "[Answer]", "[EOS]"], controlToken: "[Done]", escape: null, tokenizerOverride: {}, tools: [] },
  zones: [
    zone({ sequence: "intro", block: 0, zone: 0, next: 1, text: "[Prompt]Think.[Answer]", tags: ["prompt"] }),
    zone({ sequence: "intro", block: 0, zone: 1, next: 2, tags: ["think"] }),
    zone({ sequence: "refine", block: 0, zone: 0, next: 3, text: "[Prompt]Refine.[Answer]" }),
    zone({ sequence: "refine", block: 0, zone: 1, next: 2, jump: 4, loop: { counter: 0, min: 1, max: 3 }, tags: ["think", "refine"] }),
    zone({ sequence: "final", block: 0, zone: 0, next: 5, text: "[Prompt]Answer.[Answer]" }),
    zone({ sequence: "final", block: 0, zone: 1, next: END, tags: ["answer"] }),
  ],
  counters: 1,
  extractions: [
    { name: "thoughts", tags: ["think"] },
    { name: "answer", tags: ["answer"] },
  ],
  meta: { program: "datasets-fixture" },
};

export interface Visit {
  zoneId: number;
  /** Tokens emitted in the zone. */
  tokens: number;
  jumped?: boolean;
}

/** A trace and its path from a list of zone visits. */
export function streamFrom(instance: number, visits: Visit[], status: StreamStatus = "done"): { trace: StreamTrace; path: PathSegment[] } {
  const total = visits.reduce((n, v) => n + v.tokens, 0);
  const tokens = new Int32Array(total);
  const pcs = new Int32Array(total);
  const forced = new Uint8Array(total);
  const events: TraceEvent[] = [];
  const path: PathSegment[] = [];
  let step = 0;
  for (const visit of visits) {
    const z = workflow.zones[visit.zoneId]!;
    for (let i = 0; i < visit.tokens; i++) {
      tokens[step + i] = 100 + ((instance * 7 + step + i) % 50);
      pcs[step + i] = visit.zoneId;
      forced[step + i] = z.text === "" ? 0 : 1;
    }
    path.push({
      zoneId: visit.zoneId,
      sequence: z.sequence,
      block: z.block,
      zone: z.zone,
      repetition: z.repetition,
      stepStart: step,
      stepEnd: step + visit.tokens,
      jumped: visit.jumped ?? false,
    });
    step += visit.tokens;
    if (visit.jumped) events.push({ step: step - 1, kind: "jump", zone: visit.zoneId, target: z.jump ?? END });
  }
  return { trace: { instance, tokens, pcs, forced, events, status }, path };
}

/** Loop body once then jump out; twice; three times (forced exit at max). */
const once: Visit[] = [
  { zoneId: 0, tokens: 5 }, { zoneId: 1, tokens: 7 }, { zoneId: 2, tokens: 4 }, { zoneId: 3, tokens: 6, jumped: true },
  { zoneId: 4, tokens: 5 }, { zoneId: 5, tokens: 9 },
];
const twice: Visit[] = [
  { zoneId: 0, tokens: 5 }, { zoneId: 1, tokens: 3 }, { zoneId: 2, tokens: 4 }, { zoneId: 3, tokens: 2 },
  { zoneId: 2, tokens: 4 }, { zoneId: 3, tokens: 8, jumped: true }, { zoneId: 4, tokens: 5 }, { zoneId: 5, tokens: 1 },
];
const forcedOut: Visit[] = [
  { zoneId: 0, tokens: 5 }, { zoneId: 1, tokens: 2 }, { zoneId: 2, tokens: 4 }, { zoneId: 3, tokens: 2 },
  { zoneId: 2, tokens: 4 }, { zoneId: 3, tokens: 2 }, { zoneId: 2, tokens: 4 }, { zoneId: 3, tokens: 2, jumped: true },
  { zoneId: 4, tokens: 5 }, { zoneId: 5, tokens: 0 },
];
const truncated: Visit[] = [{ zoneId: 0, tokens: 5 }, { zoneId: 1, tokens: 64 }];

export const meta = (over: Partial<RunMetadata> = {}): RunMetadata => ({
  runId: "run-2026-11-26-a",
  seed: 1234567890123,
  workflowHash: "wf-9f3a",
  backend: "cpu",
  model: "tiny-llama",
  tokenizer: "byte:abc123",
  batchSize: 4,
  instances: 5,
  startedAt: "2026-11-26T14:00:00.000Z",
  wallMs: 1234.5,
  steps: 69,
  interrupted: false,
  sampling: { temperature: 0.7, topK: 40, topP: null, sampler: "nucleus" },
  ...over,
});

/** Five streams: two share a path (`once`), one loops twice, one is forced out, one is truncated. */
export function sampleRun(): Run {
  const plans: Array<[Visit[], StreamStatus]> = [
    [once, "done"],
    [twice, "done"],
    [once, "timeout"],
    [forcedOut, "done"],
    [truncated, "truncated"],
  ];
  const built = plans.map(([visits, status], k) => streamFrom(k, visits, status));
  return {
    meta: meta(),
    workflow,
    streams: built.map((b) => b.trace),
    paths: built.map((b) => b.path),
    extractions: {
      thoughts: ["Let me think… 🤔", "first\nsecond \"quoted\"", "", "a<b & c>d", "cut off mid-"],
      answer: ["42", "Zweiundvierzig — ß", "<script>alert(1)</script>", "", ""],
    },
    statistics: {
      jumpSites: [],
      loops: [],
      generatedTokens: [0, 0, 0, 0, 0],
      forcedTokens: [0, 0, 0, 0, 0],
      length: built.map((b) => b.trace.tokens.length),
      bySequence: {},
      status: { done: 3, truncated: 1, timeout: 1, interrupted: 0, tool_error: 0 },
    },
  };
}

/** A run with no streams at all. */
export function emptyRun(): Run {
  const run = sampleRun();
  return {
    ...run,
    meta: meta({ runId: "empty", instances: 0 }),
    streams: [],
    paths: [],
    extractions: { thoughts: [], answer: [] },
  };
}
