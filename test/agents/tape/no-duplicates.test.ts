/**
 * Issue #15, item 15: "no step runs twice" for steps that declare side effects.
 *
 * The trials: a real process runs `append_flow` (21 side-effecting steps of 3 ms, one pure
 * step) recording to a tape, and is killed with SIGKILL at a random point of its run — half the
 * trials at a random moment, half as soon as a random number of effects has landed (the moment
 * a duplicate is likeliest) — and the run is then resumed from the tape. An independent reader — this test, reading the side-effect
 * file, never the tape — counts how often each step's effect happened. 50 trials, no duplicate.
 *
 * The child is this repository's code bundled by esbuild (so each start costs a plain `node`,
 * not tsx); Apache Arrow, which only the tape's codec for Arrow tables uses and these steps
 * never produce, is stubbed out of that bundle to keep the start short.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, watch, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  AgentRegistry,
  InDoubtError,
  Tape,
  createDefaultRegistry,
  defineProc,
  defineWorkflow,
  resumeRun,
  runAgent,
} from "../../../agents/index.js";
import { LABELS, agents } from "../fixtures/effects.js";

const ROOT = resolve(import.meta.dirname, "../../..");
const CHILD = join(ROOT, "test/agents/fixtures/effects-child.ts");
const TRIALS = 50;
const MS = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How often each label's effect happened, read from the side-effect file alone. */
function effectCounts(file: string): Record<string, number> {
  const counts: Record<string, number> = {};
  if (!existsSync(file)) return counts;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line) continue;
    const label = line.split(" ")[0]!;
    counts[label] = (counts[label] ?? 0) + 1;
  }
  return counts;
}

let work = "";
let childCommand: string[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "forge-dup-"));
  try {
    const esbuild = await import("esbuild");
    const bundle = join(work, "bundle");
    mkdirSync(bundle);
    symlinkSync(join(ROOT, "node_modules"), join(bundle, "node_modules")); // better-sqlite3 (native) resolves from here
    await esbuild.build({
      entryPoints: [CHILD],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outfile: join(bundle, "child.mjs"),
      external: ["better-sqlite3"],
      logLevel: "error",
      plugins: [
        {
          name: "no-arrow",
          setup(build) {
            build.onResolve({ filter: /^apache-arrow$/ }, () => ({ path: "apache-arrow", namespace: "stub" }));
            build.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
              contents: "export class Table {}\nexport function tableFromIPC() { throw new Error('no Arrow in the trial child'); }\nexport const tableToIPC = tableFromIPC;\n",
              loader: "js",
            }));
          },
        },
      ],
    });
    childCommand = [process.execPath, join(bundle, "child.mjs")];
  } catch {
    childCommand = [process.execPath, "--import", "tsx", CHILD]; // slower start, same code
  }
});

/** Start the child; resolves `ready` once the run is on the tape and under way. */
function startChild(dir: string, runId: string) {
  const child = spawn(childCommand[0]!, [...childCommand.slice(1), join(dir, "tape.sqlite"), join(dir, "side.txt"), runId, String(MS)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on("exit", (code, signal) => r({ code, signal })));
  const ready = new Promise<number>((resolveReady, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("ready")) resolveReady(performance.now());
    });
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    void exited.then(() => (out.includes("ready") ? undefined : reject(new Error(`the trial child ended before it was ready: ${err}`))));
  });
  const done = exited.then((e) => (out.includes("done") ? performance.now() : null));
  return { child, ready, exited, done, stderr: () => err };
}

const registry = new AgentRegistry(agents);

/** Resolves as soon as `file` holds `lines` lines (watched, polled as a fallback), or the process ends. */
function effectsReach(file: string, lines: number, exited: Promise<unknown>): Promise<void> {
  return new Promise((resolveReach) => {
    let finished = false;
    const count = () => (existsSync(file) ? readFileSync(file, "utf8").split("\n").length - 1 : 0);
    const check = () => {
      if (finished || count() < lines) return;
      finish();
    };
    const watcher = (() => {
      try {
        return watch(dirname(file), check);
      } catch {
        return null;
      }
    })();
    const timer = setInterval(check, 2);
    const finish = () => {
      finished = true;
      clearInterval(timer);
      watcher?.close();
      resolveReach();
    };
    void exited.then(() => !finished && finish());
    check();
  });
}

describe("item 15: no side-effecting step runs twice across SIGKILL and resume", () => {
  it(`${TRIALS} trials killed at random points: every effect happened exactly once`, async () => {
    const t0 = performance.now();
    const reference = await runAgent("append_flow", { file: join(work, "reference.txt"), ms: MS }, { registry });

    // How long a run lasts in a child, from "ready" to "done": kills fall uniformly inside it.
    const refDir = join(work, "timing");
    mkdirSync(refDir);
    const timing = startChild(refDir, "timing");
    const readyAt = await timing.ready;
    const doneAt = await timing.done;
    expect(doneAt, timing.stderr()).not.toBeNull();
    // Run lengths seen so far (a trial that ends before its kill adds its own): kills aim at their median.
    const lengths = [doneAt! - readyAt];
    const runMs = () => [...lengths].sort((x, y) => x - y)[Math.floor(lengths.length / 2)]!;

    let killedMidRun = 0;
    let duplicates = 0;
    let trialsWithDuplicate = 0;
    let effectWithoutEnd = 0; // effect in the file, its end not on the tape: a duplicate waiting to happen
    const failures: string[] = [];
    let finishedFirst = 0;
    const trial = async (k: number, retry = 0): Promise<void> => {
      const dir = join(work, `trial-${k}-${retry}`);
      mkdirSync(dir);
      const runId = `trial-${k}`;
      const c = startChild(dir, runId);
      const readyAt = await c.ready;
      // Aim short of the end: on a loaded machine this process learns late of what the child did.
      if (k % 2 === 0) await sleep(Math.random() * 0.8 * runMs()); // a random moment of the run
      else await effectsReach(join(dir, "side.txt"), 1 + Math.floor(Math.random() * (LABELS.length - 5)), c.exited); // right after a random effect
      c.child.kill("SIGKILL");
      const { signal } = await c.exited;
      const doneAt = await c.done;
      if (doneAt !== null) {
        // The run ended before its kill: nothing was tested; try again (at most twice), aiming shorter.
        lengths.push(doneAt - readyAt);
        if (retry < 2) {
          finishedFirst++;
          return trial(k, retry + 1);
        }
      }
      const side = join(dir, "side.txt");
      const tape = Tape.open(join(dir, "tape.sqlite"));
      try {
        if (signal === "SIGKILL" && tape.getRun(runId)!.status === "running") {
          killedMidRun++;
          const settled = tape.outcomes(runId);
          const before = effectCounts(side);
          effectWithoutEnd += LABELS.filter((l) => before[l] && !settled.has(l)).length;
          const resumed = await resumeRun(runId, { registry, tape });
          if (JSON.stringify(resumed.outputs) !== JSON.stringify(reference.outputs)) failures.push(`${runId}: outputs ${JSON.stringify(resumed.outputs)}`);
        }
      } finally {
        tape.close();
      }
      const counts = effectCounts(side);
      let duplicated = false;
      for (const label of LABELS) {
        const n = counts[label] ?? 0;
        if (n > 1) (duplicates += n - 1), (duplicated = true);
        if (n !== 1) failures.push(`${runId}: ${label} happened ${n} times`);
      }
      if (duplicated) trialsWithDuplicate++;
    };
    // Three trials at a time (a child mostly waits for the CPU on a loaded machine); each kill
    // point is random within its own run.
    let next = 0;
    const worker = async () => {
      while (next < TRIALS) await trial(next++);
    };
    await Promise.all([worker(), worker(), worker()]);

    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `item 15: ${TRIALS} trials (${killedMidRun} killed mid-run; ${finishedFirst} runs ended before their kill and were tried again; run ≈ ${runMs().toFixed(0)} ms), ` +
        `effects done but not ended on the tape at the kill: ${effectWithoutEnd}, duplicate effects after resume: ${duplicates} (in ${trialsWithDuplicate} trials), ${seconds.toFixed(1)} s`,
    );
    expect(failures).toEqual([]);
    expect(duplicates).toBe(0);
    expect(killedMidRun).toBeGreaterThanOrEqual(TRIALS * 0.7); // the kills really landed inside the runs
  }, 180_000);
});

describe("item 15: what the tape promises for side-effecting steps", () => {
  it("commits a side-effecting step's start before it runs and its end before a dependent sees its outputs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "forge-commit-"));
    const file = join(dir, "tape.sqlite");
    const tape = Tape.open(file);
    const seen: Record<string, string[]> = {};
    // What another process would find on the tape right now (a second connection reads committed rows only).
    const committed = (runId: string) => {
      const reader = Tape.open(file);
      try {
        return reader.events(runId).map((e) => `${e.path}:${e.kind}`);
      } finally {
        reader.close();
      }
    };
    const effect = defineProc({
      name: "effect",
      help: "",
      outputs: { v: { help: "" } },
      sideEffects: true,
      run: (_i, ctx) => ((seen[ctx.path] = committed(ctx.runId)), { v: 1 }),
    });
    const after = defineProc({
      name: "after",
      help: "",
      inputs: { v: { help: "" } },
      outputs: { v: { help: "" } },
      run: (i, ctx) => ((seen[ctx.path] = committed(ctx.runId)), { v: i.v }),
    });
    const wf = defineWorkflow({ name: "ordered", help: "", steps: [{ id: "a", agent: "effect" }, { id: "b", agent: "after", inputs: { v: "{{a.v}}" } }], returns: { v: "{{b.v}}" } });
    await runAgent(wf, {}, { registry: new AgentRegistry([effect, after]), tape, runId: "o" });
    tape.close();
    expect(seen.a).toContain("a:started");
    expect(seen.b).toContain("a:succeeded");
  });

  /** A tape as a process leaves it when killed after step "a" did its effect but before its end was committed. */
  function crashedTape(agent: string) {
    const dir = mkdtempSync(join(tmpdir(), "forge-doubt-"));
    const side = join(dir, "side.txt");
    const wf = defineWorkflow({
      name: `doubt_${agent}`,
      help: "",
      inputs: { file: { help: "" } },
      steps: [
        { id: "a", agent, inputs: { file: "{{file}}", label: "a", ms: 0 } },
        { id: "b", agent: "append", inputs: { file: "{{file}}", label: "b", prev: "{{a.value}}", ms: 0 } },
      ],
      returns: { value: "{{b.value}}" },
    });
    const reg = new AgentRegistry([...agents, wf]);
    const tape = Tape.open(join(dir, "tape.sqlite"));
    tape.startRun("r", wf.name, { file: side });
    tape.record({ runId: "r", path: "a", kind: "queued" });
    tape.record({ runId: "r", path: "a", kind: "started", attempt: 1, inputs: { file: side, label: "a", ms: 0 } }, { commit: true });
    writeFileSync(side, "a r/a\n"); // the effect, with its idempotency key
    return { tape, side, registry: reg };
  }

  it("a step in doubt is not run again when its check finds the effect", async () => {
    const { tape, side, registry: reg } = crashedTape("append");
    const r = await resumeRun("r", { registry: reg, tape });
    expect(r.outputs).toEqual({ value: "[a][b]" });
    expect(effectCounts(side)).toEqual({ a: 1, b: 1 });
    tape.close();
  });

  it("a step in doubt that nothing can check stops the resume, naming it; --rerun-in-doubt runs it on request", async () => {
    const { tape, side, registry: reg } = crashedTape("append_blind");
    for (let i = 0; i < 2; i++) {
      // Refused every time: the refusal does not clear the doubt.
      const error = await resumeRun("r", { registry: reg, tape }).catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/step "a" failed after 1 attempt\(s\): run "r", step "a" \(agent "append_blind"\) declares side effects, and an earlier process started it \(attempt 1, at .*\) without recording its end: it may have run already, so it is not run again/);
      expect((error as { cause?: unknown }).cause).toBeInstanceOf(InDoubtError);
      expect(effectCounts(side)).toEqual({ a: 1 });
    }
    await resumeRun("r", { registry: reg, tape, rerunInDoubt: true });
    expect(effectCounts(side)).toEqual({ a: 2, b: 1 }); // asked for explicitly
    tape.close();
  });

  it("ctx.call children that declare side effects get the same promise (loop body in doubt)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "forge-doubt-call-"));
    const side = join(dir, "side.txt");
    const reg = new AgentRegistry([...agents, ...createDefaultRegistry().list().filter((a) => a.name === "loop")]);
    const wf = defineWorkflow({
      name: "looped",
      help: "",
      inputs: { file: { help: "" } },
      steps: [{ id: "lp", agent: "loop", inputs: { body: "append", inputs: { file: "{{file}}", label: "x", ms: 0 }, maxIterations: 2 } }],
      returns: { n: "{{lp.iterations}}" },
    });
    const tape = Tape.open(join(dir, "tape.sqlite"));
    tape.startRun("r", wf.name, { file: side });
    tape.record({ runId: "r", path: "lp", kind: "started", attempt: 1 });
    tape.record({ runId: "r", path: "lp/#1", kind: "started", attempt: 1 }, { commit: true });
    writeFileSync(side, "x r/lp/#1\n"); // iteration 1 did its effect; the process died before its end was committed
    const r = await resumeRun("r", { registry: reg, tape, agent: wf });
    expect(r.outputs).toEqual({ n: 2 });
    expect(readFileSync(side, "utf8")).toBe("x r/lp/#1\nx r/lp/#2\n");
    tape.close();
  });
});
