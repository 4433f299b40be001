import { mkdtempSync, truncateSync, writeFileSync } from "node:fs";
import Database from "better-sqlite3";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tableFromArrays, type Table } from "apache-arrow";
import { describe, expect, it } from "vitest";
import {
  AgentError,
  AgentRegistry,
  FakeClock,
  MAX_TAPE_VALUE_CHARS,
  Tape,
  defineProc,
  defineWorkflow,
  resumeRun,
  runAgent,
} from "../../../agents/index.js";

const tmp = () => mkdtempSync(join(tmpdir(), "forge-tape-"));

describe("results tape", () => {
  it("records queued/started/retried/failed/skipped/succeeded/compensated events with inputs, outputs, timings", async () => {
    const tape = Tape.open(join(tmp(), "t.sqlite"));
    let flaky = 0;
    const registry = new AgentRegistry([
      defineProc({ name: "ok", help: "", optionalInputs: { x: { help: "" } }, outputs: { y: { help: "" } }, run: (i) => ({ y: i.x ?? 1 }) }),
      defineProc({ name: "flaky", help: "", outputs: { n: { help: "" } }, run: () => { if (++flaky < 2) throw new AgentError("transient", "net"); return { n: flaky }; } }),
      defineProc({ name: "bad", help: "", run: () => { throw new AgentError("nope"); } }),
    ]);
    const wf = defineWorkflow({
      name: "events",
      help: "",
      steps: [
        { id: "a", agent: "ok", inputs: { x: 5 }, dependsOn: [], onFailure: { compensate: "undo" } },
        { id: "r", agent: "flaky", dependsOn: ["a"], retry: { maxRetries: 2, backoffSeconds: 0.5 } },
        { id: "s", agent: "ok", dependsOn: ["r"], condition: "{{r.n}} > 5" },
        { id: "f", agent: "bad", dependsOn: ["s"] },
        { id: "undo", agent: "ok", inputs: { x: "{{a.y}}" } },
      ],
    });
    await expect(runAgent(wf, {}, { registry, tape, clock: new FakeClock(), runId: "r1" })).rejects.toThrow(/step "f"/);
    const events = tape.events("r1").map((e) => `${e.path}:${e.kind}`);
    expect(events).toEqual([
      "a:queued", "a:started", "a:succeeded",
      "r:queued", "r:started", "r:retried", "r:started", "r:succeeded",
      "s:queued", "s:skipped",
      "f:queued", "f:started", "f:failed",
      "undo:started", "undo:succeeded", "a:compensated",
    ]);
    const started = tape.events("r1").find((e) => e.path === "a" && e.kind === "started")!;
    expect(started.inputs).toEqual({ x: 5 });
    const done = tape.events("r1").find((e) => e.path === "r" && e.kind === "succeeded")!;
    expect(done.outputs).toEqual({ n: 2 });
    expect(done.durationMs).toBeGreaterThanOrEqual(0);
    expect(tape.getRun("r1")).toMatchObject({ agent: "events", status: "failed" });
    tape.close();
  });

  it("keeps Arrow tables and bigints exact across the tape", async () => {
    const tape = Tape.open(join(tmp(), "t.sqlite"));
    const table = tableFromArrays({ id: Int32Array.from([1, 2, 3]), score: Float64Array.from([0.5, 0.25, 1]) });
    const registry = new AgentRegistry([
      defineProc({ name: "make", help: "", outputs: { table: { help: "" }, big: { help: "" } }, run: () => ({ table, big: 2n ** 70n }) }),
    ]);
    const wf = defineWorkflow({ name: "w", help: "", steps: [{ id: "m", agent: "make" }], returns: { t: "{{m.table}}", b: "{{m.big}}" } });
    await runAgent(wf, {}, { registry, tape, runId: "arrow" });
    const out = tape.outcomes("arrow").get("m")!.outputs;
    expect((out.table as Table).toArray().map((r) => r.toJSON())).toEqual(table.toArray().map((r) => r.toJSON()));
    expect(out.big).toBe(2n ** 70n);
    const again = await resumeRun("arrow", { tape, registry });
    expect((again.outputs.t as Table).numRows).toBe(3);
    tape.close();
  });

  it("resumes a failed run without running finished steps again", async () => {
    const tape = Tape.open(join(tmp(), "t.sqlite"));
    const runs: Record<string, number> = {};
    let broken = true;
    const registry = new AgentRegistry([
      defineProc({
        name: "count",
        help: "",
        inputs: { id: { help: "" } },
        outputs: { id: { help: "" } },
        run(i) {
          runs[i.id as string] = (runs[i.id as string] ?? 0) + 1;
          if (i.id === "c" && broken) throw new AgentError("down");
          return { id: i.id };
        },
      }),
    ]);
    const wf = defineWorkflow({
      name: "abc",
      help: "",
      steps: ["a", "b", "c", "d"].map((id) => ({ id, agent: "count", inputs: { id } })),
      returns: { last: "{{d.id}}" },
    });
    registry.register(wf);
    await expect(runAgent("abc", {}, { registry, tape, runId: "x" })).rejects.toThrow(/step "c"/);
    broken = false;
    const result = await resumeRun("x", { tape, registry });
    expect(result).toEqual({ runId: "x", outputs: { last: "d" }, resumed: true });
    expect(runs).toEqual({ a: 1, b: 1, c: 2, d: 1 });
    expect(tape.getRun("x")!.status).toBe("succeeded");
    // A finished run resumes to its recorded outputs and runs nothing.
    await resumeRun("x", { tape, registry });
    expect(runs).toEqual({ a: 1, b: 1, c: 2, d: 1 });
    await expect(resumeRun("nope", { tape, registry })).rejects.toThrow(/has no run "nope"/);
    tape.close();
  });

  it("refuses a second run under an id the tape already has, saying how to continue it", async () => {
    const tape = Tape.open(join(tmp(), "t.sqlite"));
    const wf = defineWorkflow({ name: "once", help: "", steps: [{ id: "n", agent: "noop" }] });
    const registry = new AgentRegistry([defineProc({ name: "noop", help: "", run: () => ({}) })]);
    await runAgent(wf, {}, { registry, tape, runId: "r1" });
    await expect(runAgent(wf, {}, { registry, tape, runId: "r1" })).rejects.toThrow(
      /already has a run "r1" \(agent "once", succeeded\): continue it with resumeRun \(forge-agent --tape … --resume r1\) or give the new run another id \(--run-id\)/,
    );
    tape.close();
  });
});

describe("a damaged tape (session 7)", () => {
  /** A tape with one run and one settled step, closed. */
  function written(): string {
    const file = join(tmp(), "t.sqlite");
    const tape = Tape.open(file);
    tape.startRun("r1", "w", { n: 1n });
    tape.record({ runId: "r1", path: "a", kind: "succeeded", outputs: { y: 1 }, status: "succeeded" });
    tape.close();
    return file;
  }
  function failure(read: () => unknown): AgentError {
    try {
      read();
    } catch (error) {
      if (error instanceof AgentError) return error;
      throw error;
    }
    throw new Error("expected an AgentError");
  }

  it("a file that is not a tape, or a truncated one, is an AgentError naming the file (was SQLite's bare 'file is not a database')", () => {
    const junk = join(tmp(), "junk.sqlite");
    writeFileSync(junk, "not a database at all\n".repeat(20));
    const notDb = failure(() => Tape.open(junk));
    expect(notDb.message).toBe(`tape "${junk}": cannot open it: file is not a database (the file is damaged or not a Forge tape)`);
    expect(notDb.kind).toBe("tape");
    const file = written();
    truncateSync(file, 3000);
    const truncated = failure(() => Tape.open(file).getRun("r1"));
    expect(truncated.message).toMatch(new RegExp(`^tape "${file.replace(/[.\\/]/g, "\\$&")}": cannot (open it|read run "r1"): database disk image is malformed`));
  });

  it("a stored value that does not decode names the run, the event and the step (was 'Cannot convert zz to a BigInt', a bare SyntaxError)", () => {
    const file = written();
    const db = new Database(file);
    db.prepare("UPDATE runs SET inputs = ? WHERE run_id = 'r1'").run('{"n":{"$bigint":"zz"}}');
    db.prepare("UPDATE events SET outputs = ? WHERE path = 'a'").run("{not json");
    db.close();
    const tape = Tape.open(file);
    expect(failure(() => tape.getRun("r1")).message).toMatch(/^tape ".*t\.sqlite": run "r1" inputs is not a readable value: Cannot convert zz to a BigInt/);
    expect(failure(() => tape.outcomes("r1")).message).toMatch(/^tape ".*t\.sqlite": run "r1" event 1 \(step "a"\) outputs is not a readable value: .*JSON/);
    expect(failure(() => tape.events("r1")).message).toMatch(/run "r1" event 1 \(step "a"\) outputs is not a readable value/);
    tape.close();
  });

  it("a stored value over MAX_TAPE_VALUE_CHARS is refused by its length, naming the run, the event and the column, before it is loaded", () => {
    const file = written();
    const db = new Database(file);
    db.prepare("UPDATE events SET outputs = ? WHERE path = 'a'").run(`{"y":"${"x".repeat(MAX_TAPE_VALUE_CHARS)}"}`);
    db.close();
    const tape = Tape.open(file);
    const started = performance.now();
    for (const read of [() => tape.outcomes("r1"), () => tape.events("r1"), () => tape.unfinished("r1")])
      expect(failure(read).message).toBe(
        `tape "${file}": run "r1" event 1 outputs holds ${MAX_TAPE_VALUE_CHARS + 8} characters, over MAX_TAPE_VALUE_CHARS = ${MAX_TAPE_VALUE_CHARS}; not read (the file is damaged or was written by something else)`,
      );
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(tape.getRun("r1")?.inputs).toEqual({ n: 1n }); // the run's own row is fine
    // Nor is such a value written: a resumed run could not read it back.
    expect(failure(() => tape.record({ runId: "r1", path: "b", kind: "succeeded", outputs: { y: "x".repeat(MAX_TAPE_VALUE_CHARS) }, status: "succeeded" })).message).toMatch(
      /^tape ".*": step "b" outputs are 67108872 characters as stored, over MAX_TAPE_VALUE_CHARS = 67108864; the tape cannot keep them/,
    );
    tape.close();
  });

  it("a run's own inputs or outputs over MAX_TAPE_VALUE_CHARS are not written either: the run (and the tape's list of runs) stays readable", () => {
    const tape = Tape.open(join(tmp(), "t.sqlite"));
    const big = "x".repeat(MAX_TAPE_VALUE_CHARS);
    expect(failure(() => tape.startRun("in", "a", { big })).message).toMatch(/^tape ".*": run "in" inputs are 67108874 characters as stored, over MAX_TAPE_VALUE_CHARS = 67108864; the tape cannot keep them/);
    expect(tape.getRun("in")).toBeUndefined();
    tape.startRun("out", "a", { n: 1 });
    expect(failure(() => tape.finishRun("out", { outputs: { big } })).message).toMatch(/^tape ".*": run "out" outputs are 67108874 characters as stored, over MAX_TAPE_VALUE_CHARS = 67108864; the tape cannot keep them/);
    tape.finishRun("out", { error: big + "!" }); // an error message is cut to the bound instead: the failure is still recorded
    expect(tape.runs().map((r) => [r.runId, r.status, r.error?.length])).toEqual([["out", "failed", MAX_TAPE_VALUE_CHARS]]);
    tape.close();
  });
});
