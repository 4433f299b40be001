/**
 * Evaluation of a zone-protocol model through the real pipeline: held-out prompts are written
 * as UDPL, compiled with SFCS to SZCP workflows and run by the engine (`makeBackend(folder)`),
 * and the traces are read back zone by zone:
 *
 * - protocol adherence: answer zones that end with `[EOS]` before their `max_gen_tokens`
 *   limit; control zones that end in a jump or a plain answer (not a timeout);
 * - jump rate under each cue (first visit, tries so far, a checker's verdict);
 * - accuracy per task type (greedy answers to held-out prompts).
 *
 * Three suites: `tasks` (chains of held-out prompts, greedy, batch 1 each), `seed` (the seed
 * README's example, sampled at a batch of streams: the tries cues), `checked` (a loop whose
 * body ends with a checker's verdict, right or wrong).
 */
import type { SzcpWorkflow } from "../../forge/szcp/types.js";
import type { Run } from "../../forge/run/types.js";
import type { SamplingDefaults } from "../../forge/model/index.js";
import type { ForgeTokenizer } from "../../forge/tokenizer/types.js";
import { parseUdpl } from "../../forge/udpl/index.js";
import { newProgram } from "../../forge/sfcs/index.js";
import { seededRandom } from "../../forge/resources/random.js";
import { makeBackend, type ForgeBackend } from "../../forge/session/backend.js";
import {
  EOS, JUMP, OPEN_QUESTIONS, SEED_CONCLUSION_PROMPT, SEED_CONTROL_PROMPT, SEED_SETUP_ANSWER, SEED_SETUP_PROMPT, TASK_KINDS,
  drawTask, jumpProbability, seedReasoningPrompt, triesCue, verdictText, type JumpCue, type Task, type TaskKind,
} from "./corpus.js";

// ---- Reading a run back zone by zone ----

export type ZoneEnd = "advance" | "jump" | "timeout" | "forced_exit" | "unfinished";

export interface ZoneVisit {
  zoneId: number;
  sequence: string;
  /** Text the model generated in the visit (forced tokens left out). */
  generated: string;
  /** How the visit ended. */
  end: ZoneEnd;
}

/** The zones of one stream that the model wrote in (visits of zones with nothing left to feed). */
export function generatedVisits(run: Run, stream: number, tokenizer: ForgeTokenizer): ZoneVisit[] {
  const trace = run.streams[stream]!;
  const path = run.paths[stream]!;
  const visits: ZoneVisit[] = [];
  path.forEach((segment, index) => {
    const ids: number[] = [];
    for (let k = segment.stepStart; k < segment.stepEnd; k++) if (trace.forced[k] === 0) ids.push(trace.tokens[k]!);
    const events = trace.events.filter((e) => e.step >= segment.stepStart && e.step < segment.stepEnd);
    const timedOut = events.some((e) => e.kind === "timeout");
    const last = events.filter((e) => e.step === segment.stepEnd - 1).map((e) => e.kind);
    let end: ZoneEnd;
    if (timedOut) end = "timeout";
    else if (last.includes("forced_exit")) end = "forced_exit";
    else if (last.includes("jump")) end = "jump";
    else if (last.includes("advance")) end = "advance";
    else end = index === path.length - 1 ? "unfinished" : "advance";
    if (ids.length === 0 && end !== "timeout" && end !== "forced_exit") return; // a fully forced zone
    visits.push({ zoneId: segment.zoneId, sequence: segment.sequence, generated: tokenizer.decode(ids), end });
  });
  return visits;
}

/** The answer the model gave: the generated text without its closing pattern and a "Try k:" prefix. */
export function answerText(generated: string): string {
  let text = generated;
  if (text.endsWith(EOS)) text = text.slice(0, -EOS.length);
  return text.trim().replace(/^Try \d+:\s*/, "");
}

// ---- Workflows (UDPL → SFCS → SZCP) ----

const toml = (text: string) => JSON.stringify(text);

function udplConfig(sequences: string[], maxGen: number): string {
  return `[config]
zone_tokens = ["[Prompt]", "[Answer]", "[EOS]"]
required_tokens = ["[Prompt]"]
sequences = ${JSON.stringify(sequences)}
valid_tags = ["answer"]
control_token = "[Jump]"
escape_token = "[Escape]"
default_max_token_length = ${maxGen}
tokenizer_override = { eos_token = "[EOS]" }
`;
}

function compile(udpl: string, build: (program: ReturnType<typeof newProgram>) => void): SzcpWorkflow {
  const parsed = parseUdpl(udpl, { file: "eval.toml" });
  const program = newProgram(parsed.sequences, {}, parsed.config);
  build(program);
  return program.compile()();
}

/** A chain of task blocks, one per prompt (`program.run("task", { question })` each). */
export function taskChainWorkflow(tasks: readonly Task[], maxGen: number): SzcpWorkflow {
  const udpl = `${udplConfig(["task"], maxGen)}
[[task]]
text = ${toml("[Prompt] {q}[Answer]")}
tags = [[], ["answer"]]
[task.q]
type = "control"
name = "question"
`;
  return compile(udpl, (program) => {
    for (const t of tasks) program.run("task", { question: t.prompt });
    program.extract("answers", ["answer"]);
  });
}

/** The seed README's example (setup, loop over control with the reasoning body, conclusion). */
export function seedWorkflow(question: string, maxGen: number): SzcpWorkflow {
  const udpl = `${udplConfig(["setup", "control", "reasoning", "conclusion"], maxGen)}
[[setup]]
text = ${toml(SEED_SETUP_PROMPT + SEED_SETUP_ANSWER + EOS)}
[[control]]
text = ${toml(SEED_CONTROL_PROMPT)}
[[reasoning]]
text = ${toml(seedReasoningPrompt("{user_question}"))}
[reasoning.user_question]
type = "control"
name = "question"
[[conclusion]]
text = ${toml(SEED_CONCLUSION_PROMPT)}
tags = [[], ["answer"]]
`;
  return compile(udpl, (program) => {
    program.run("setup");
    program.loop("control", (loop) => loop.run("reasoning", { question }));
    program.run("conclusion");
    program.extract("training_data", ["answer"]);
  });
}

/** A loop whose body is a task and a checker's verdict (fed as text); at most two tries. */
export function checkedWorkflow(task: Task, right: boolean, maxGen: number): SzcpWorkflow {
  const udpl = `${udplConfig(["control", "task", "verdict", "conclusion"], maxGen)}
[[control]]
text = ${toml(SEED_CONTROL_PROMPT)}
[[task]]
text = ${toml(seedReasoningPrompt("{q}"))}
[task.q]
type = "control"
name = "question"
[[verdict]]
text = ${toml(`[Prompt] Check result:[Answer]${verdictText(right)}${EOS}`)}
[[conclusion]]
text = ${toml(SEED_CONCLUSION_PROMPT)}
tags = [[], ["answer"]]
`;
  return compile(udpl, (program) => {
    program.loop("control", (loop) => {
      loop.run("task", { question: task.prompt });
      loop.run("verdict");
    }, { max: 2 });
    program.run("conclusion");
    program.extract("answer", ["answer"]);
  });
}

// ---- The evaluation ----

export interface EvalOptions {
  /** Model folder (default: the project's model). */
  model?: string;
  seed?: number;
  /** Held-out prompts per task kind. */
  perTask?: number;
  /** Streams of the seed example (sampled). */
  seedStreams?: number;
  /** Streams per verdict of the checked loop (sampled). */
  checkedStreams?: number;
  /** Generation cap of answer zones. */
  maxGen?: number;
  /** Sampling of the sampled suites (seed, checked); default: the backend's. */
  sampling?: SamplingDefaults;
  onProgress?: (line: string) => void;
}

export interface Tally {
  ok: number;
  total: number;
}

export interface EvalReport {
  model: string;
  backend: string;
  /** The sampling of the sampled suites, as given (empty: the backend's default). */
  sampling: SamplingDefaults;
  /** The backend's default sampling (the model's generation_config.json). */
  defaultSampling: SamplingDefaults;
  adherence: { answerZones: Tally; controlZones: Tally };
  /** Answer zones per suite (tasks, seed, checked): where the misses come from. */
  answerZonesBySuite: Record<string, Tally>;
  /** The first few answer zones that did not end, with their suite and text. */
  misses: string[];
  /** Per cue: jumps / decisions, and the corpus's rate for comparison. */
  jumpRates: Record<string, Tally & { corpus: number }>;
  accuracy: Record<string, Tally>;
  /** Seed example: per stream, loop iterations before the exit (null: never exited — truncated). */
  seedIterations: (number | null)[];
  seedStatus: Record<string, number>;
  /** A few sample answers for the log. */
  samples: string[];
  seconds: number;
}

const tally = (): Tally => ({ ok: 0, total: 0 });

/** Counts adherence over every generated zone of a run; returns the visits per stream. */
function countAdherence(run: Run, backend: ForgeBackend, report: EvalReport, suite: string, isControl: (zoneId: number) => boolean): ZoneVisit[][] {
  return run.streams.map((_, s) => {
    const visits = generatedVisits(run, s, backend.tokenizer);
    for (const v of visits) {
      if (v.end === "unfinished" || v.end === "forced_exit") continue; // truncated stream / not the model's decision
      if (isControl(v.zoneId)) {
        report.adherence.controlZones.total++;
        if (v.end === "jump" || v.end === "advance") report.adherence.controlZones.ok++;
      } else {
        const bySuite = (report.answerZonesBySuite[suite] ??= tally());
        report.adherence.answerZones.total++;
        bySuite.total++;
        if (v.end === "advance") {
          report.adherence.answerZones.ok++;
          bySuite.ok++;
        } else if (report.misses.length < 12) report.misses.push(`${suite} ${v.sequence} (${v.end}): ${JSON.stringify(v.generated)}`);
      }
    }
    return visits;
  });
}

function countDecision(report: EvalReport, cue: JumpCue, visit: ZoneVisit): void {
  if (visit.end !== "jump" && visit.end !== "advance") return;
  const t = (report.jumpRates[cue] ??= { ...tally(), corpus: jumpProbability(cue) });
  t.total++;
  if (visit.end === "jump") t.ok++;
}

export async function evaluateModel(options: EvalOptions = {}): Promise<EvalReport> {
  const started = performance.now();
  const say = options.onProgress ?? (() => {});
  const seed = options.seed ?? 7;
  // Above the longest answer the corpus teaches for these prompts (62 bytes: " Try 3: " and
  // an open answer), so a zone that runs into it has failed to end, not been cut short.
  const maxGen = options.maxGen ?? 64;
  const backend = await makeBackend(options.model);
  const info = backend.info();
  const report: EvalReport = {
    model: info.model,
    backend: info.backend,
    sampling: options.sampling ?? {},
    defaultSampling: info.sampling,
    adherence: { answerZones: tally(), controlZones: tally() },
    answerZonesBySuite: {},
    misses: [],
    jumpRates: {},
    accuracy: {},
    seedIterations: [],
    seedStatus: {},
    samples: [],
    seconds: 0,
  };
  const random = seededRandom(seed);

  // 1. Held-out tasks, greedy, in chains of four.
  const perTask = options.perTask ?? 8;
  const tasks: Task[] = [];
  for (const kind of TASK_KINDS) for (let i = 0; i < perTask; i++) tasks.push(drawTask(random, "heldout", kind as TaskKind));
  for (let i = tasks.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [tasks[i], tasks[j]] = [tasks[j]!, tasks[i]!];
  }
  for (let i = 0; i < tasks.length; i += 4) {
    const chain = tasks.slice(i, i + 4);
    const workflow = taskChainWorkflow(chain, maxGen);
    const run = await backend.run(workflow, { batchSize: 1, greedy: true, seed });
    const visits = countAdherence(run, backend, report, "tasks", () => false)[0]!;
    chain.forEach((task, k) => {
      const acc = (report.accuracy[task.kind] ??= tally());
      acc.total++;
      const visit = visits[k];
      const given = visit && visit.end === "advance" ? answerText(visit.generated) : null;
      if (given === task.answer) acc.ok++;
      if (report.samples.length < 12 && k === 0) report.samples.push(`${task.prompt} → ${JSON.stringify(visit?.generated ?? "")} (expected ${task.answer})`);
    });
    say(`tasks ${Math.min(i + 4, tasks.length)}/${tasks.length}`);
  }

  // 2. The seed example at a batch of streams, sampled: decisions per visit of the control zone.
  const seedStreams = options.seedStreams ?? 64;
  if (seedStreams > 0) {
    const workflow = seedWorkflow(OPEN_QUESTIONS[0]!.question, maxGen);
    const controlZone = workflow.zones.findIndex((z) => z.jump !== null);
    const run = await backend.run(workflow, {
      batchSize: seedStreams,
      seed,
      ...report.sampling,
      onProgress: (p) => p.finished || p.step % 200 === 0 ? say(`seed example: step ${p.step}, ${p.streamsDone}/${p.streams} streams done`) : undefined,
    });
    const perStream = countAdherence(run, backend, report, "seed", (z) => z === controlZone);
    perStream.forEach((visits, s) => {
      let tries = 0;
      let exited: number | null = null;
      for (const v of visits) {
        if (v.zoneId !== controlZone) continue;
        countDecision(report, triesCue(tries), v);
        if (v.end === "jump") {
          exited = tries;
          break;
        }
        if (v.end === "advance") tries++;
      }
      report.seedIterations.push(exited);
      report.seedStatus[run.streams[s]!.status] = (report.seedStatus[run.streams[s]!.status] ?? 0) + 1;
      if (s < 2) report.samples.push(`seed stream ${s}: ${visits.map((v) => JSON.stringify(v.generated)).join(" | ")}`);
    });
  }

  // 3. A checker's verdict: the decision right after it.
  const checkedStreams = options.checkedStreams ?? 32;
  if (checkedStreams > 0) {
    for (const right of [true, false]) {
      const task = drawTask(random, "heldout", "add");
      const workflow = checkedWorkflow(task, right, maxGen);
      const controlZone = workflow.zones.findIndex((z) => z.jump !== null);
      const run = await backend.run(workflow, { batchSize: checkedStreams, seed: seed + (right ? 1 : 2), ...report.sampling });
      const perStream = countAdherence(run, backend, report, "checked", (z) => z === controlZone);
      for (const visits of perStream) {
        const decisions = visits.filter((v) => v.zoneId === controlZone);
        if (decisions[0]) countDecision(report, "first", decisions[0]);
        if (decisions[1]) countDecision(report, right ? "right" : "wrong", decisions[1]);
      }
      say(`checked loop (${right ? "right" : "wrong"}) done`);
    }
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

const pct = (t: Tally) => (t.total === 0 ? "   n/a" : `${((100 * t.ok) / t.total).toFixed(1).padStart(5)}%`);

/** The report as the table `npm run eval:model` prints. */
export function formatReport(r: EvalReport): string {
  const lines: string[] = [];
  lines.push(`model ${r.model} on ${r.backend}, ${r.seconds.toFixed(0)} s`);
  const spell = (s: Record<string, unknown>) => Object.entries(s).map(([k, v]) => `${k} ${v}`).join(", ");
  const defaults = spell({ temperature: 1, ...r.defaultSampling });
  lines.push(`sampled suites (seed, checked): ${spell({ ...r.defaultSampling, ...r.sampling }) || "temperature 1"} (model's default: ${defaults})`);
  lines.push("");
  lines.push("protocol adherence");
  lines.push(`  answer zones ending with ${EOS} before the limit   ${pct(r.adherence.answerZones)}  (${r.adherence.answerZones.ok}/${r.adherence.answerZones.total})`);
  for (const [suite, t] of Object.entries(r.answerZonesBySuite)) lines.push(`    in the ${suite} suite${" ".repeat(Math.max(1, 34 - suite.length))}${pct(t)}  (${t.ok}/${t.total})`);
  lines.push(`  control zones ending in ${JUMP} or a plain answer  ${pct(r.adherence.controlZones)}  (${r.adherence.controlZones.ok}/${r.adherence.controlZones.total})`);
  lines.push("");
  lines.push("jump rate per cue            model   corpus");
  for (const cue of ["first", "tries1", "tries2", "tries3", "tries4+", "right", "wrong"]) {
    const t = r.jumpRates[cue];
    if (!t) continue;
    lines.push(`  ${cue.padEnd(24)} ${pct(t)}   ${(100 * t.corpus).toFixed(0).padStart(4)}%   (${t.ok}/${t.total})`);
  }
  lines.push("");
  lines.push("accuracy per task (greedy, held-out prompts)");
  let ok = 0;
  let total = 0;
  for (const [kind, t] of Object.entries(r.accuracy).sort()) {
    lines.push(`  ${kind.padEnd(10)} ${pct(t)}  (${t.ok}/${t.total})`);
    ok += t.ok;
    total += t.total;
  }
  lines.push(`  ${"all".padEnd(10)} ${pct({ ok, total })}  (${ok}/${total})`);
  if (r.seedIterations.length > 0) {
    const hist = new Map<string, number>();
    for (const it of r.seedIterations) hist.set(it === null ? "no exit" : String(it), (hist.get(it === null ? "no exit" : String(it)) ?? 0) + 1);
    lines.push("");
    lines.push(`seed example, ${r.seedIterations.length} streams: iterations before the loop exit ${[...hist.entries()].sort().map(([k, n]) => `${k}: ${n}`).join(", ")}`);
    lines.push(`  stream status ${Object.entries(r.seedStatus).map(([k, n]) => `${k}: ${n}`).join(", ")}`);
  }
  if (r.misses.length > 0) {
    lines.push("");
    lines.push("answer zones that did not end (first few)");
    for (const m of r.misses) lines.push(`  ${m.length > 300 ? m.slice(0, 300) + "…" : m}`);
  }
  if (r.samples.length > 0) {
    lines.push("");
    lines.push("samples");
    for (const s of r.samples) lines.push(`  ${s.length > 300 ? s.slice(0, 300) + "…" : s}`);
  }
  return lines.join("\n");
}
