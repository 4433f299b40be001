import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  AgentError,
  AgentRegistry,
  FakeClock,
  StepFailedError,
  defineProc,
  defineTemplate,
  defineWorkflow,
  runAgent,
  type StepSpec,
} from "../../../agents/index.js";

/** Agents whose work is virtual time on a FakeClock, logging what happened and when. */
function harness() {
  const clock = new FakeClock();
  const log: Array<{ what: string; step: string; at: number }> = [];
  let running = 0;
  let maxRunning = 0;
  const registry = new AgentRegistry([
    defineProc({
      name: "work",
      help: "sleeps `ms` of virtual time, returns its label",
      inputs: { label: { help: "", schema: z.string() } },
      optionalInputs: { ms: { help: "", schema: z.number(), default: 1000 } },
      outputs: { label: { help: "" } },
      async run(inputs, ctx) {
        running++;
        maxRunning = Math.max(maxRunning, running);
        log.push({ what: "start", step: inputs.label as string, at: clock.now() });
        try {
          await ctx.clock.sleep(inputs.ms as number, ctx.signal);
        } finally {
          running--;
        }
        log.push({ what: "end", step: inputs.label as string, at: clock.now() });
        return { label: inputs.label };
      },
    }),
    defineProc({
      name: "fail",
      help: "always fails",
      optionalInputs: { kind: { help: "", default: "boom" } },
      run(inputs) {
        throw new AgentError("it broke", inputs.kind as string);
      },
    }),
  ]);
  const run = (steps: StepSpec[], extra: Partial<Parameters<typeof defineWorkflow>[0]> = {}, inputs = {}) =>
    runAgent(defineWorkflow({ name: "wf", help: "", steps, ...extra }), inputs, { registry, clock });
  return { clock, log, registry, run, maxRunning: () => maxRunning };
}

const work = (id: string, ms: number, more: Partial<StepSpec> = {}): StepSpec => ({
  id,
  agent: "work",
  inputs: { label: id, ms },
  ...more,
});

describe("scheduling", () => {
  it("a slow branch does not delay an unrelated one (dependencies, not levels)", async () => {
    const h = harness();
    await h.run([
      work("slow", 5000, { dependsOn: [] }),
      work("b", 1000, { dependsOn: [] }),
      work("c", 1000, { dependsOn: ["b"] }),
      work("d", 1000, { dependsOn: ["c"] }),
      work("join", 10, { dependsOn: ["slow", "d"] }),
    ]);
    const at = (what: string, step: string) => h.log.find((e) => e.what === what && e.step === step)!.at;
    // A level-by-level scheduler would start c only after `slow` (same level as b) ended at 5000.
    expect(at("start", "c")).toBe(1000);
    expect(at("end", "d")).toBe(3000);
    expect(at("end", "slow")).toBe(5000);
    expect(at("start", "join")).toBe(5000);
  });

  it("bounds parallelism by the concurrency limit", async () => {
    const h = harness();
    const steps = ["a", "b", "c", "d", "e", "f"].map((id) => work(id, 1000, { dependsOn: [] }));
    await h.run(steps, { concurrency: 2 });
    expect(h.maxRunning()).toBe(2);
    expect(h.clock.now()).toBe(3000);
    const h2 = harness();
    await h2.run(steps, { concurrency: 6 });
    expect(h2.maxRunning()).toBe(6);
    expect(h2.clock.now()).toBe(1000);
  });

  it("runs steps in order when the workflow declares no dependsOn", async () => {
    const h = harness();
    await h.run([work("first", 3000), work("second", 1000), work("third", 2000)], { concurrency: 8 });
    expect(h.log.map((e) => `${e.what}:${e.step}`)).toEqual([
      "start:first", "end:first", "start:second", "end:second", "start:third", "end:third",
    ]);
    expect(h.maxRunning()).toBe(1);
  });

  it("passes outputs between steps through templates and returns declared outputs", async () => {
    const h = harness();
    const result = await h.run(
      [work("a", 10), { id: "b", agent: "work", inputs: { label: "after {{a.label}} for {{who}}", ms: 10 } }],
      { inputs: { who: { help: "" } }, returns: { out: "{{b.label}}", ok: "{{b.success}}" } },
      { who: "me" },
    );
    expect(result.outputs).toEqual({ out: "after a for me", ok: true });
  });
});

describe("conditions", () => {
  it("skips a step whose condition is false; dependents still run and see it skipped", async () => {
    const h = harness();
    const result = await h.run(
      [
        work("a", 10),
        work("big", 10, { condition: "$count > 5" }),
        work("small", 10, { condition: "{{a.success}} == true && $count <= 5" }),
        { id: "report", agent: "work", inputs: { label: "{{big.status}}/{{small.status}}", ms: 1 } },
      ],
      { inputs: { count: { help: "" } }, returns: { r: "{{report.label}}" } },
      { count: 9 },
    );
    expect(result.outputs.r).toBe("succeeded/skipped");
    expect(h.log.some((e) => e.step === "small")).toBe(false);
  });

  it("an unknown name in a condition names the step and the expression", async () => {
    const h = harness();
    // `$nope` is neither a workflow input nor a variable the caller allowed: refused before the run (issue #15, item 13).
    await expect(h.run([work("a", 10, { condition: "$nope > 1" })])).rejects.toThrow(
      /step "a", condition: expression "\$nope > 1": "\$nope" is not an input of workflow "wf", and the environment variable nope is not allowed/,
    );
  });
});

describe("retries", () => {
  function flaky(failures: number, kind: string) {
    let calls = 0;
    const agent = defineProc({
      name: "flaky",
      help: "",
      outputs: { calls: { help: "" } },
      run() {
        calls++;
        if (calls <= failures) throw new AgentError(`failure ${calls}`, kind);
        return { calls };
      },
    });
    return { agent, calls: () => calls };
  }

  it("backs off exponentially with jitter, capped at the maximum (fake clock)", async () => {
    const clock = new FakeClock();
    const f = flaky(3, "transient");
    const wf = defineWorkflow({
      name: "r",
      help: "",
      steps: [{ id: "s", agent: "flaky", retry: { maxRetries: 5, backoffSeconds: 1, multiplier: 2, jitter: 0.2, maxBackoffSeconds: 3, retryOn: ["transient"] } }],
      returns: { calls: "{{s.calls}}" },
    });
    const result = await runAgent(wf, {}, { registry: new AgentRegistry([f.agent]), clock, random: () => 0.75 });
    expect(result.outputs.calls).toBe(4);
    // jitter factor 1 + 0.2 × (2 × 0.75 − 1) = 1.1; the third delay (4 s nominal) is capped at 3 s.
    expect(clock.sleeps.map((ms) => Math.round(ms))).toEqual([1100, 2200, 3000]);
    expect(clock.now()).toBeCloseTo(6300);
  });

  it("does not retry kinds outside retryOn, and stops after maxRetries", async () => {
    const clock = new FakeClock();
    const fatal = flaky(10, "fatal");
    const policy = { maxRetries: 3, backoffSeconds: 1, retryOn: ["transient"] };
    const once = defineWorkflow({ name: "r1", help: "", steps: [{ id: "s", agent: "flaky", retry: policy }] });
    await expect(runAgent(once, {}, { registry: new AgentRegistry([fatal.agent]), clock })).rejects.toThrow(/after 1 attempt/);
    expect(fatal.calls()).toBe(1);

    const always = flaky(10, "transient");
    const wf = defineWorkflow({ name: "r2", help: "", steps: [{ id: "s", agent: "flaky", retry: policy }] });
    const error = await runAgent(wf, {}, { registry: new AgentRegistry([always.agent]), clock: new FakeClock() }).catch((e) => e);
    expect(error).toBeInstanceOf(StepFailedError);
    expect((error as StepFailedError).attempts).toBe(4);
    expect(always.calls()).toBe(4);
  });
});

describe("timeouts", () => {
  it("times a step out, signals the agent, and retries kind 'timeout' when asked", async () => {
    const h = harness();
    let aborted = 0;
    let calls = 0;
    h.registry.register(
      defineProc({
        name: "slowOnce",
        help: "",
        outputs: { done: { help: "" } },
        async run(_inputs, ctx) {
          calls++;
          ctx.signal.addEventListener("abort", () => aborted++);
          await ctx.clock.sleep(calls === 1 ? 10_000 : 100, ctx.signal);
          return { done: true };
        },
      }),
    );
    await expect(h.run([{ id: "t", agent: "slowOnce", timeoutSeconds: 2 }])).rejects.toThrow(/step "t" timed out after 2s/);
    expect(aborted).toBe(1);
    expect(h.clock.now()).toBe(2000);
    calls = 0;
    const result = await h.run(
      [{ id: "t", agent: "slowOnce", timeoutSeconds: 2, retry: { maxRetries: 1, backoffSeconds: 1, retryOn: ["timeout"] } }],
      { returns: { done: "{{t.done}}" } },
    );
    expect(result.outputs.done).toBe(true);
    expect(calls).toBe(2);
  });
});

describe("onFailure", () => {
  it("skip: continues, the step is marked failed", async () => {
    const h = harness();
    const result = await h.run(
      [{ id: "bad", agent: "fail", onFailure: "skip" }, { id: "next", agent: "work", inputs: { label: "{{bad.success ? 'ok' : bad.error}}", ms: 1 } }],
      { returns: { next: "{{next.label}}", status: "{{bad.status}}" } },
    );
    expect(result.outputs).toEqual({ next: "it broke", status: "failed" });
  });

  it("fallback: the fallback step's outputs stand in for the failed step", async () => {
    const h = harness();
    const result = await h.run(
      [
        { id: "primary", agent: "fail", onFailure: { fallback: "backup" } },
        { id: "backup", agent: "work", inputs: { label: "backup", ms: 5 } },
        { id: "use", agent: "work", inputs: { label: "got {{primary.label}}", ms: 1 } },
      ],
      { returns: { use: "{{use.label}}", status: "{{primary.status}}" } },
    );
    expect(result.outputs).toEqual({ use: "got backup", status: "fallback" });
  });

  it("abort: stops the workflow, signals running siblings, runs nothing downstream", async () => {
    const h = harness();
    const error = await h
      .run([
        work("long", 10_000, { dependsOn: [] }),
        { id: "bad", agent: "fail", dependsOn: [] },
        work("after", 10, { dependsOn: ["bad"] }),
      ])
      .catch((e) => e);
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error.message).toMatch(/workflow "wf", step "bad" failed after 1 attempt\(s\): it broke/);
    expect(h.log.some((e) => e.step === "after")).toBe(false);
    expect(h.log.some((e) => e.step === "long" && e.what === "end")).toBe(false); // aborted, not finished
  });

  it("compensate: undoes completed steps in reverse order of completion", async () => {
    const h = harness();
    const undone: string[] = [];
    h.registry.register(
      defineProc({
        name: "undo",
        help: "",
        inputs: { what: { help: "" } },
        outputs: { undone: { help: "" } },
        run(inputs) {
          undone.push(inputs.what as string);
          return { undone: inputs.what };
        },
      }),
    );
    const error = await h
      .run([
        // `reserve` is declared first but completes last, so it is undone first.
        work("reserve", 3000, { dependsOn: [], onFailure: { compensate: "unreserve" } }),
        work("charge", 1000, { dependsOn: [], onFailure: { compensate: "refund" } }),
        work("plain", 500, { dependsOn: [] }),
        { id: "ship", agent: "fail", dependsOn: ["reserve", "charge", "plain"], onFailure: { compensate: "unship" } },
        { id: "unreserve", agent: "undo", inputs: { what: "reserve:{{reserve.label}}" } },
        { id: "refund", agent: "undo", inputs: { what: "charge:{{charge.label}}" } },
        { id: "unship", agent: "undo", inputs: { what: "ship:{{ship.error}}" } },
      ])
      .catch((e) => e);
    expect(error).toBeInstanceOf(StepFailedError);
    expect(undone).toEqual(["ship:it broke", "reserve:reserve", "charge:charge"]);
  });
});

describe("cancellation", () => {
  it("an outside abort stops the run: running steps are signalled, nothing new starts", async () => {
    const h = harness();
    const controller = new AbortController();
    h.registry.register(defineProc({ name: "stop", help: "", run: () => (controller.abort(), {}) }));
    const wf = defineWorkflow({
      name: "cancel",
      help: "",
      steps: [work("long", 10_000, { dependsOn: [] }), { id: "s", agent: "stop", dependsOn: [] }, work("later", 10, { dependsOn: ["s"] })],
    });
    await expect(runAgent(wf, {}, { registry: h.registry, clock: h.clock, signal: controller.signal })).rejects.toThrow(/was aborted/);
    expect(h.log.map((e) => `${e.what}:${e.step}`)).toEqual(["start:long"]);
  });
});

describe("agent kinds and nesting", () => {
  it("workflows nest as agents to any depth, with template agents at the bottom", async () => {
    const registry = new AgentRegistry([
      defineTemplate({ name: "greet", help: "", inputs: { name: { help: "" } }, optionalInputs: { tone: { help: "", default: "plain" } }, template: "hello {{name}} ({{tone}})" }),
    ]);
    let inner = "greet";
    const depth = 25;
    for (let level = 1; level <= depth; level++) {
      const wf = defineWorkflow({
        name: `level${level}`,
        help: "",
        inputs: { name: { help: "" } },
        steps: [{ id: "inner", agent: inner, inputs: { name: "{{name}}" } }],
        returns: { text: "{{inner.text}}" },
      });
      registry.register(wf);
      inner = wf.name;
    }
    const result = await runAgent(inner, { name: "deep" }, { registry });
    expect(result.outputs.text).toBe("hello deep (plain)");
  });

  it("a template agent must declare every name its template reads", () => {
    expect(() => defineTemplate({ name: "t", help: "", inputs: { a: { help: "" } }, template: "{{a}} {{b}}" })).toThrow(
      /template agent "t": the template reads undeclared input\(s\) b/,
    );
  });

  it("checks inputs against their schemas, naming agent and input", async () => {
    const h = harness();
    await expect(runAgent("work", { label: 5 }, { registry: h.registry })).rejects.toThrow(/agent "work", input "label": .*string/i);
    await expect(runAgent("work", {}, { registry: h.registry })).rejects.toThrow(/input "label": is required/);
  });

  it("passes dry-run to agents that declare a dryRun input, at any depth", async () => {
    const seen: unknown[] = [];
    const registry = new AgentRegistry([
      defineProc({ name: "net", help: "", optionalInputs: { dryRun: { help: "", default: false } }, run: (i) => (seen.push(i.dryRun), {}) }),
      defineProc({ name: "plain", help: "", run: (i) => (seen.push(Object.keys(i).length), {}) }),
    ]);
    registry.register(defineWorkflow({ name: "inner", help: "", steps: [{ id: "n", agent: "net" }, { id: "p", agent: "plain" }] }));
    registry.register(defineWorkflow({ name: "outer", help: "", steps: [{ id: "i", agent: "inner" }] }));
    await runAgent("outer", {}, { registry, dryRun: true });
    await runAgent("outer", {}, { registry });
    expect(seen).toEqual([true, 0, false, 0]);
  });
});
