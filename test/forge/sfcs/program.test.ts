import { spawnSync } from "node:child_process";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { feedbackBuffer, listSampler, ResourceError } from "../../../forge/resources/index.js";
import { newProgram, SFCS_LIMITS, SfcsError, type FlowScope } from "../../../forge/sfcs/index.js";
import { END, serializeWorkflow } from "../../../forge/szcp/index.js";
import { parseUdpl, parseUdplFile } from "../../../forge/udpl/index.js";

const seed = parseUdplFile("test/fixtures/udpl/seed-fixed.toml");

const DOC = `[config]
zone_tokens = ["[P]", "[A]", "[E]"]
valid_tags = ["q", "a"]
sequences = ["intro", "think", "check", "yes", "no", "ask", "results", "topic", "user", "fb"]
control_token = "[J]"
default_max_token_length = 100
tools = ["search", "calc"]

[[intro]]
text = "[P] intro [A]"
max_gen_tokens = 7
[[think]]
text = "[P] think [A]"
tags = [["q"], ["a"]]
[[check]]
text = "[P] done? [A]"
[[yes]]
text = "[P] yes [A]"
[[no]]
text = "[P] no [A]"
[[ask]]
text = "[P] query: [A]"
[[results]]
text = "[P] results: [A]"
[[topic]]
text = "[P] about {t} [A]"
[topic.t]
name = "topics"
[[user]]
text = "[P] user says {u} [A]"
[user.u]
name = "user_input"
type = "argument"
[[fb]]
text = "[P] earlier: {f} [A]"
[fb.f]
name = "feedback"
type = "custom"
arguments = { num_samples = 2 }
`;
const doc = parseUdpl(DOC, { file: "flows.toml" });
const TOPICS = listSampler(["cats", "dogs", "owls", "bats"], { seed: 4 });

function sfcsError(fn: () => unknown): SfcsError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SfcsError) return err;
    throw err;
  }
  throw new Error("expected an SfcsError");
}

describe("the seed README's program (section 3)", () => {
  const build = (form: "callback" | "using") => {
    const program = newProgram(seed.sequences, {}, seed.config);
    program.run("setup");
    if (form === "callback") {
      program.loop("control", (loop) => {
        loop.run("reasoning", { question: "Are you alive?" });
      });
    } else {
      using loop = program.loop("control");
      loop.run("reasoning", { question: "Are you alive?" });
    }
    program.run("conclusion");
    program.extract("training_data", ["answer"]);
    return program.compile();
  };

  it("compiles, with the loop's back edge and exit edge where docs/language.md#rzcp-the-resolved-graph puts them", () => {
    const w = build("callback")();
    expect(w.zones.map((z) => `${z.sequence}.${z.zone}`)).toEqual([
      "setup.0", "setup.1", "control.0", "control.1", "reasoning.0", "reasoning.1", "conclusion.0", "conclusion.1",
    ]);
    expect(w.zones.map((z) => z.next)).toEqual([1, 2, 3, 4, 5, 2, 7, END]);
    expect(w.zones.map((z) => z.jump)).toEqual([null, null, null, 6, null, null, null, null]);
    expect(w.zones[3].loop).toEqual({ counter: 0, min: null, max: null });
    expect(w.counters).toBe(1);
    expect(w.extractions).toEqual([{ name: "training_data", tags: ["answer"] }]);
    expect(w.zones[4].text).toBe("[Prompt]\nAnswer the following question, thinking it\nthrough from a first person perspective Are you alive?\n[Answer]");
    expect(w.zones[7].tags).toEqual(["answer"]);
    expect(w.config.tokenizerOverride).toEqual({ eos_token: "[EOS]" });
    expect(w.meta.source).toBe("test/fixtures/udpl/seed-fixed.toml");
  });

  it("the `using` form closes its scope at dispose and yields the same workflow", () => {
    expect(serializeWorkflow(build("using")())).toBe(serializeWorkflow(build("callback")()));
  });
});

describe("the `using` form under tsx (Node 20 has no native Symbol.dispose)", () => {
  it("closes the loop scope at the end of the block", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "test/forge/sfcs/using-under-tsx.fixture.ts"], { encoding: "utf8", timeout: 60_000 });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual({
      next: [1, 2, 3, 4, 5, 2, 7, END],
      jump: [null, null, null, 6, null, null, null, null],
      loop: { counter: 0, min: 1, max: 6 },
    });
  });
});

describe("flow control graph", () => {
  it("run chains zones; maxGen comes from the block, then the config default", () => {
    const p = newProgram(doc.sequences, { topics: TOPICS }, doc.config);
    p.run("intro").run("think");
    const w = p.compile()();
    expect(w.zones.map((z) => [z.next, z.jump, z.maxGen])).toEqual([[1, null, 7], [2, null, 7], [3, null, 100], [END, null, 100]]);
  });

  it("loop records min/max on the jump site; nested loops get their own counters", () => {
    const p = newProgram(doc.sequences, { topics: TOPICS }, doc.config);
    p.loop("check", (outer) => {
      outer.run("think");
      outer.loop("check", (inner) => inner.run("yes"), { min: 2 });
    }, { min: 1, max: 6 });
    p.run("intro");
    const w = p.compile()();
    // check 0,1 · think 2,3 · check 4,5 · yes 6,7 · intro 8,9
    expect(w.zones[1]).toMatchObject({ next: 2, jump: 8, loop: { counter: 0, min: 1, max: 6 } });
    expect(w.zones[3].next).toBe(4);
    expect(w.zones[5]).toMatchObject({ next: 6, jump: 0, loop: { counter: 1, min: 2, max: null } });
    expect(w.zones[7].next).toBe(4); // inner back edge
    expect(w.counters).toBe(2);
  });

  it("when: nominal → if-branch, jump → else-branch, both rejoin after", () => {
    const p = newProgram(doc.sequences, { topics: TOPICS }, doc.config);
    p.when("check", (ifB, elseB) => {
      ifB.run("yes");
      elseB.run("no");
    });
    p.run("intro");
    const w = p.compile()();
    // check 0,1 · yes 2,3 · no 4,5 · intro 6,7
    expect(w.zones[1]).toMatchObject({ next: 2, jump: 4, loop: null });
    expect(w.zones[3].next).toBe(6);
    expect(w.zones[5].next).toBe(6);
  });

  it("when with an empty else jumps past the if-branch; at the end of the program that is END", () => {
    const p = newProgram(doc.sequences, { topics: TOPICS }, doc.config);
    p.when("check", (ifB) => ifB.run("yes"));
    const w = p.compile()();
    expect(w.zones[1]).toMatchObject({ next: 2, jump: END });
    expect(w.zones[3].next).toBe(END);
  });

  it("a loop whose body ends in a when: both branch exits return to the head", () => {
    const p = newProgram(doc.sequences, { topics: TOPICS }, doc.config);
    p.loop("think", (body) => body.when("check", (ifB) => ifB.run("yes")));
    const w = p.compile()();
    // think 0,1 · check 2,3 · yes 4,5
    expect(w.zones[1]).toMatchObject({ next: 2, jump: END });
    expect(w.zones[3]).toMatchObject({ next: 4, jump: 0 });
    expect(w.zones[5].next).toBe(0);
  });

  it("subroutine inlines another program's calls and extractions", () => {
    const sub = newProgram(doc.sequences, { topics: TOPICS }, doc.config);
    sub.run("yes").extract("answers", ["a"]);
    const p = newProgram(doc.sequences, { topics: TOPICS }, doc.config);
    p.run("intro").subroutine(sub).run("no");
    const w = p.compile()();
    expect(w.zones.map((z) => z.sequence)).toEqual(["intro", "intro", "yes", "yes", "no", "no"]);
    expect(w.zones.map((z) => z.next)).toEqual([1, 2, 3, 4, 5, END]);
    expect(w.extractions).toEqual([{ name: "answers", tags: ["a"] }]);
  });

  it("capture and feed mark the last zone; feed defaults to the last captured tool", () => {
    const p = newProgram(doc.sequences, { topics: TOPICS }, doc.config);
    p.capture("ask", { tool: "search" }).feed("results").feed("results", { tool: "calc" });
    const w = p.compile()();
    expect(w.zones.map((z) => [z.capture, z.feed])).toEqual([[null, null], ["search", null], [null, null], [null, "search"], [null, null], [null, "calc"]]);
    expect(w.config.tools).toEqual(["search", "calc"]);
  });
});

describe("resources and placeholders", () => {
  it("standard placeholders sample newProgram's resources afresh at every factory call", () => {
    const p = newProgram(doc.sequences, { topics: listSampler(["cats", "dogs", "owls", "bats"], { seed: 9 }) }, doc.config);
    p.run("topic");
    const factory = p.compile();
    const texts = Array.from({ length: 12 }, () => factory().zones[0].text);
    expect(new Set(texts).size).toBeGreaterThan(1);
    for (const t of texts) expect(t).toMatch(/^\[P\] about (cats|dogs|owls|bats) \[A\]$/);
  });

  it("custom placeholders take the call's arguments by resource name; a feedback buffer changes between batches", () => {
    const fb = feedbackBuffer({ capacity: 4, numSamples: 2 });
    const p = newProgram(doc.sequences, { topics: TOPICS }, doc.config);
    p.run("fb", { feedback: fb });
    const factory = p.compile();
    expect(factory().zones[0].text).toBe("[P] earlier:  [A]");
    fb.append("good answer");
    expect(factory().zones[0].text).toBe("[P] earlier: good answer [A]");
  });

  it("argument placeholders come from the factory's arguments; plain values become static resources", () => {
    const p = newProgram(doc.sequences, { topics: TOPICS }, doc.config);
    p.run("user");
    const factory = p.compile();
    expect(factory.argumentNames).toEqual(["user_input"]);
    expect(factory({ user_input: "hello" }).zones[0].text).toBe("[P] user says hello [A]");
    expect(factory({ user_input: 42 }).zones[0].text).toBe("[P] user says 42 [A]");
  });

  it("a missing argument at factory time names the placeholder, the sequence and the call site", () => {
    const p = newProgram(doc.sequences, { topics: TOPICS }, doc.config);
    p.run("user");
    const factory = p.compile();
    const err = sfcsError(() => factory());
    expect(err.message).toMatch(/placeholder \{u\} of sequence "user" \(block 0\) needs resource "user_input" \(argument\)/);
    expect(err.site.call).toBe('program.run("user")');
    expect(err.site.location).toMatch(/program\.test\.ts:\d+:\d+/);
    const unknown = sfcsError(() => factory({ user_input: "x", usr_input: "y" }));
    expect(unknown.message).toMatch(/unknown workflow argument "usr_input"; expected: user_input/);
    expect(unknown.site.location).toMatch(/program\.test\.ts:\d+:\d+/);
  });

  it("a standard placeholder without its resource fails at newProgram, naming placeholder and sequence", () => {
    expect(() => newProgram(doc.sequences, {}, doc.config)).toThrowError(ResourceError);
    expect(() => newProgram(doc.sequences, {}, doc.config)).toThrowError(/placeholder \{t\} of sequence "topic" \(block 0\) needs resource "topics"/);
  });

  it("a custom placeholder without an argument, or an argument for no placeholder, fails at that call, which records nothing", () => {
    const p = newProgram(doc.sequences, { topics: TOPICS }, doc.config);
    const missing = sfcsError(() => p.run("fb"));
    expect(missing.message).toMatch(/^program\.run\("fb"\) at .*program\.test\.ts:\d+:\d+: sequence "fb" has custom placeholder \{f\} filled by resource "feedback": pass it as \{ feedback: … \}/);
    const extra = sfcsError(() => p.run("intro", { feedback: "x" }));
    expect(extra.message).toMatch(/argument "feedback" fills no custom placeholder of sequence "intro" \(custom resources expected: none\)/);
    const typo = sfcsError(() => p.run("fb", { fedback: "x" }));
    expect(typo.problems.map((x) => x.message)).toEqual([
      expect.stringMatching(/argument "fedback" fills no custom placeholder of sequence "fb" \(did you mean "feedback"\?\)/),
      expect.stringMatching(/pass it as \{ feedback: … \}/),
    ]);
    expect(typo.code).toBe("sfcs_invalid");
    // The failed calls left nothing behind: the program is still empty, and fixing the call works.
    expect(String(p)).toBe("Program: no calls yet");
    p.run("fb", { feedback: "x" });
    expect(p.compile()().zones[0].text).toBe("[P] earlier: x [A]");
  });

  it("an argument placeholder's value given to run is named as a factory argument, with the factory call to make", () => {
    const two = parseUdpl(`[config]
zone_tokens = ["[P]", "[A]"]
sequences = ["ask"]
control_token = "[J]"
[[ask]]
text = "[P] {x} and {y} [A]"
[ask.x]
name = "a"
type = "argument"
[ask.y]
name = "b"
type = "argument"
`);
    const p = newProgram(two.sequences, {}, two.config);
    const err = sfcsError(() => p.run("ask", { a: 1, b: 2 }));
    expect(err.problems).toHaveLength(1);
    expect(err.message).toContain('program.run("ask") at ');
    expect(err.message).toContain('a, b are factory arguments (type = "argument" placeholders of sequence "ask": {x} → "a"; {y} → "b"): give them when a workflow is made, factory({ a, b }) with factory = program.compile(), not to program.run("ask")');
    expect(err.message).not.toMatch(/fills no custom placeholder/);
    const one = sfcsError(() => p.run("ask", { a: 1 }));
    expect(one.message).toContain('"a" is a factory argument (type = "argument" placeholder of sequence "ask": {x} → "a"): give it when a workflow is made, factory({ a })');
    p.run("ask");
    expect(p.compile()({ a: 1, b: 2 }).zones[0].text).toBe("[P] 1 and 2 [A]");
  });
});

describe("structural errors name the call site", () => {
  const fresh = () => newProgram(doc.sequences, { topics: TOPICS }, doc.config);
  const thisFile = /test\/forge\/sfcs\/program\.test\.ts:\d+:\d+/;

  it("unknown sequence: fails at the call, in every scope and every call that names one", () => {
    const p = fresh();
    p.run("intro");
    const err = sfcsError(() => p.run("intr"));
    expect(err.message).toMatch(/^program\.run\("intr"\) at .*program\.test\.ts:\d+:\d+: unknown sequence "intr" \(did you mean "intro"\?\); known sequences: intro, think/);
    expect(err.site.location).toMatch(thisFile);
    expect(err.where).toBe(`program.run("intr") at ${err.site.location}`);
    expect(sfcsError(() => p.run("nonexistent")).message).toMatch(/unknown sequence "nonexistent"; known sequences:/);
    expect(sfcsError(() => p.loop("chek", (b) => b.run("yes"))).message).toMatch(/^program\.loop\("chek"\) at .*: unknown sequence "chek" \(did you mean "check"\?\)/);
    expect(sfcsError(() => p.when("chek", (i) => i.run("yes"))).message).toMatch(/^program\.when\("chek"\) at /);
    expect(sfcsError(() => p.capture("ak", { tool: "search" })).message).toMatch(/^program\.capture\("ak"\) at .*did you mean "ask"/);
    expect(sfcsError(() => p.run(42 as never)).message).toMatch(/a sequence name is a string, got 42/);
    // Inside a loop body: the inner call's site, and the loop records nothing either.
    const inner = sfcsError(() => p.loop("check", (b) => b.run("yess")));
    expect(inner.site.call).toBe('loop.run("yess")');
    expect(inner.site.location).toMatch(thisFile);
    expect(String(p)).toBe('Program: run("intro")');
    expect(p.compile()().zones).toHaveLength(2);
  });

  it("the using form: the failing call throws in the block, the scope still closes", () => {
    const p = fresh();
    expect(() => {
      using loop = p.loop("check");
      loop.run("think");
      loop.run("thnk");
    }).toThrowError(/loop\.run\("thnk"\) at .*: unknown sequence "thnk" \(did you mean "think"\?\)/);
    p.run("intro");
    expect(String(p)).toBe('Program: loop("check") { run("think") } → run("intro")');
    expect(p.compile()().zones).toHaveLength(6);
  });

  it("empty loop body, in both forms", () => {
    const p = fresh();
    p.loop("check", () => {});
    {
      using _empty = p.loop("think");
    }
    const err = sfcsError(() => p.compile());
    expect(err.problems.map((x) => [x.site.call, x.message])).toEqual([
      ['program.loop("check")', "the loop body is empty"],
      ['program.loop("think")', "the loop body is empty"],
    ]);
  });

  it("empty if-branch", () => {
    const p = fresh();
    p.when("check", (_ifB, elseB) => elseB.run("no"));
    expect(() => p.compile()).toThrowError(/program\.when\("check"\) at .*: the if-branch is empty/);
  });

  it("unclosed scope", () => {
    const p = fresh();
    const loop = p.loop("check");
    loop.run("think");
    const err = sfcsError(() => p.compile());
    expect(err.message).toMatch(/program\.loop\("check"\) at .*program\.test\.ts:\d+:\d+: scope opened here was never closed/);
  });

  it("calls on an outer scope while an inner one is open", () => {
    const p = fresh();
    {
      using loop = p.loop("check");
      loop.run("think");
      p.run("intro");
    }
    expect(() => p.compile()).toThrowError(/program\.run\("intro"\) at .*: call on an outer scope while the scope of program\.loop\("check"\)/);
  });

  it("extraction of an unknown tag fails at extract", () => {
    const p = fresh();
    p.run("intro");
    const err = sfcsError(() => p.extract("data", ["answer", "A"]));
    expect(err.site.call).toBe('program.extract("data")');
    expect(err.site.location).toMatch(thisFile);
    expect(err.problems.map((x) => x.message)).toEqual([
      'extraction of unknown tag "answer"; valid_tags: ["q","a"]',
      'extraction of unknown tag "A" (did you mean "a"?); valid_tags: ["q","a"]',
    ]);
    p.extract("data", ["a"]);
    expect(sfcsError(() => p.extract("data", ["q"])).message).toMatch(/extraction "data" is declared twice \(first at .*program\.test\.ts:\d+:\d+\)/);
    expect(p.compile()().extractions).toEqual([{ name: "data", tags: ["a"] }]);
  });

  it("bad loop bounds and unknown tools fail at the call; an empty program at compile", () => {
    const p = fresh();
    expect(() => p.loop("check", (b) => b.run("yes"), { min: 5, max: 2 })).toThrowError(/^program\.loop\("check"\) at .*: loop min \(5\) is greater than max \(2\)/);
    expect(() => p.loop("check", { max: 0 })).toThrowError(/loop max must be an integer ≥ 1, got 0/);
    expect(() => p.capture("ask", { tool: "web" })).toThrowError(/^program\.capture\("ask"\) at .*: tool "web" is not in \[config\]\.tools \(search, calc\)/);
    expect(() => p.feed("results")).toThrowError(/feed needs \{ tool: name \}/);
    expect(() => p.compile()).toThrowError(/the program is empty/);
  });

  it("a subroutine with another config is refused at the call", () => {
    const other = newProgram(seed.sequences, {}, seed.config);
    other.run("setup");
    const p = fresh();
    p.run("intro");
    expect(() => p.subroutine(other)).toThrowError(/program\.subroutine\(…\) at .*: the subroutine's config differs: zone_tokens/);
  });
});

describe("bounds on what a program records (session 7)", () => {
  const fresh = () => newProgram(doc.sequences, { topics: TOPICS }, doc.config);
  it("a subroutine that would pass maxOperations is refused at its call, naming the limit (doubling a program 17 times ended in a bare RangeError)", () => {
    let p = fresh();
    p.run("intro");
    let doublings = 0;
    const err = sfcsError(() => {
      for (; doublings < 40; doublings++) {
        const q = fresh();
        q.subroutine(p).subroutine(p);
        p = q;
      }
    });
    expect(doublings).toBe(Math.log2(SFCS_LIMITS.maxOperations)); // 2^14 operations fit, 2^15 do not
    expect(err.message).toMatch(/^program\.subroutine\(…\) at .*program\.test\.ts:\d+:\d+: the program would have 32768 operations, over SFCS_LIMITS\.maxOperations = 16384/);
    expect(p.compile()().zones.length).toBe(2 * SFCS_LIMITS.maxOperations); // intro has two zones; the largest program still compiles
  });

  it("a run past maxOperations is refused at its call, and the program keeps what it had", () => {
    const p = fresh();
    for (let i = 0; i < SFCS_LIMITS.maxOperations; i++) p.run("intro");
    expect(() => p.run("intro")).toThrowError(/^program\.run\("intro"\) at .*: the program would have 16385 operations, over SFCS_LIMITS\.maxOperations = 16384/);
    expect(() => p.loop("check", (b) => b.run("yes"))).toThrowError(/16385 operations/);
    expect(p.compile()().zones.length).toBe(2 * SFCS_LIMITS.maxOperations);
  });

  it("loops nested past maxNestingDepth are refused at the call that would open one more (5 000 levels overflowed the stack)", () => {
    const p = fresh();
    let depth = 0;
    const nest = (scope: FlowScope): void => {
      depth++;
      scope.loop("check", (body) => (depth < 5_000 ? nest(body) : body.run("yes")), { max: 2 });
    };
    const err = sfcsError(() => nest(p));
    expect(depth).toBe(SFCS_LIMITS.maxNestingDepth + 1);
    expect(err.message).toMatch(/^loop\.loop\("check"\) at .*: loops and branches nest deeper than SFCS_LIMITS\.maxNestingDepth = 256 here/);
    const q = fresh();
    const deepest = (scope: FlowScope, level: number): void => {
      if (level === SFCS_LIMITS.maxNestingDepth) scope.run("yes");
      else scope.when("check", (yes) => deepest(yes, level + 1));
    };
    deepest(q, 0);
    expect(q.compile()().zones.length).toBeGreaterThan(SFCS_LIMITS.maxNestingDepth);
  });

  it("loop bounds over SZCP_LIMITS.maxCount are refused at the call (were accepted, and refused only by the server)", () => {
    const p = fresh();
    expect(() => p.loop("check", (b) => b.run("yes"), { max: 1e15 })).toThrowError(/^program\.loop\("check"\) at .*: loop max = 1000000000000000 is over SFCS_LIMITS\.maxLoopBound = 16777216/);
    expect(() => p.loop("check", (b) => b.run("yes"), { min: 2 ** 24 + 1 })).toThrowError(/loop min = 16777217 is over SFCS_LIMITS\.maxLoopBound/);
    p.loop("check", (b) => b.run("yes"), { max: SFCS_LIMITS.maxLoopBound });
    expect(p.compile()().zones.length).toBeGreaterThan(0);
  });
});

describe("arguments of loop and when", () => {
  it("fill the head's or condition's custom placeholders; plain values become static resources", () => {
    const p = newProgram(doc.sequences, { topics: TOPICS }, doc.config);
    p.loop("fb", (body) => body.run("think"), { args: { feedback: "from loop" }, max: 3 });
    p.when("fb", (ifB) => ifB.run("yes"), { args: { feedback: 7 } });
    const w = p.compile()();
    expect(w.zones[0].text).toBe("[P] earlier: from loop [A]");
    expect(w.zones[1].loop).toEqual({ counter: 0, min: null, max: 3 });
    expect(w.zones[4].text).toBe("[P] earlier: 7 [A]");
  });

  it("a missing one fails at the loop's call, before its body runs", () => {
    const p = newProgram(doc.sequences, { topics: TOPICS }, doc.config);
    let bodyRan = false;
    expect(() => p.loop("fb", () => void (bodyRan = true))).toThrowError(/program\.loop\("fb"\) at .*program\.test\.ts:\d+:\d+: sequence "fb" has custom placeholder \{f\}/);
    expect(bodyRan).toBe(false);
  });
});

describe("prototype-named resources", () => {
  it("a standard placeholder whose resource is named like an Object method still needs that resource", () => {
    const d = parseUdpl(`[config]
zone_tokens = ["[P]", "[A]"]
sequences = ["s"]
control_token = "[J]"
[[s]]
text = "[P] {c}"
[s.c]
name = "constructor"
`);
    expect(() => newProgram(d.sequences, {}, d.config)).toThrowError(/needs resource "constructor"/);
    const p = newProgram(d.sequences, { constructor: "built" }, d.config);
    p.run("s");
    expect(p.compile()().zones[0].text).toBe("[P] built");
  });
});

describe("how programs and factories show themselves (console.log, the notebook's text form)", () => {
  it("a program is a one-line summary of its calls, not its sequences and resources", () => {
    const p = newProgram(seed.sequences, {}, seed.config, { name: "seed" });
    expect(inspect(p)).toBe('Program "seed": no calls yet');
    p.run("setup");
    p.loop("control", (loop) => loop.run("reasoning", { question: "Are you alive?" }));
    p.run("conclusion");
    p.extract("training_data", ["answer"]);
    const shown = inspect(p);
    expect(shown).toBe('Program "seed": run("setup") → loop("control") { run("reasoning") } → run("conclusion") · extracts training_data [answer]');
    expect(inspect({ program: p }, { depth: 4, breakLength: Infinity })).toBe(`{ program: ${shown} }`);
    expect(String(p)).toBe(shown);
    const open = newProgram(doc.sequences, { topics: TOPICS }, doc.config);
    const loop = open.loop("check");
    loop.run("think");
    expect(inspect(loop)).toBe('loop scope: run("think")');
    expect(inspect(open)).toBe('Program: loop("check") { run("think") } · 1 scope open');
    loop.close();
  });

  it("a long program is cut after 8 calls", () => {
    const p = newProgram(doc.sequences, { topics: TOPICS }, doc.config);
    for (let i = 0; i < 30; i++) p.run("intro");
    expect(inspect(p)).toMatch(/^Program: (run\("intro"\) → ){8}… 22 more$/);
  });

  it("a factory names its zones and arguments", () => {
    const p = newProgram(doc.sequences, { topics: TOPICS }, doc.config);
    p.run("user");
    expect(inspect(p.compile())).toBe("WorkflowFactory: 2 zones, arguments: user_input (call it with { user_input })");
  });
});
