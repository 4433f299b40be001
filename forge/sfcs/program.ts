/// <reference lib="esnext.disposable" />
/**
 * The SFCS builder (docs/language.md#sfcs): `newProgram(sequences, resources, config)` records flow
 * operations into scopes; `compile()` checks the whole program, lays it out as an RZCP
 * graph and returns a factory that samples SZCP workflows.
 *
 * A mistake that the call itself shows (unknown sequence, unknown tag, an argument that fills
 * no placeholder, bad loop bounds, unknown tool …) throws an SfcsError at that call, naming its
 * call site, and the call records nothing. Problems of the program's shape (an empty loop
 * body or if-branch, a scope never closed, calls on an outer scope while an inner one is
 * open) show only later: they are collected and thrown together by `compile()`.
 */
import { toResource } from "../resources/resources.js";
import { ResourceError } from "../resources/errors.js";
import type { Resource, ResourceMap } from "../resources/types.js";
import { buildGraph } from "../rzcp/build.js";
import { lowerGraph } from "../rzcp/lower.js";
import type { RzcpGraph } from "../rzcp/types.js";
import type { SzcpConfig, SzcpExtraction, SzcpWorkflow } from "../szcp/types.js";
import { RESERVED_EXTRACTION_NAMES, SZCP_LIMITS } from "../szcp/limits.js";
import type { UdplConfig } from "../udpl/types.js";
import type { ZcpSequence } from "../zcp/types.js";
import { captureSite } from "./callsite.js";
import { SfcsError, formatSite, type CallSite, type SfcsProblem } from "./errors.js";
import type { BoundResources, FlowOp, LoopOp, RunOp, WhenOp } from "./types.js";

// Node 20 has no Symbol.dispose; `using` (lowered by TypeScript/esbuild) needs it. Symbol.for
// matches the fallback esbuild's helper uses when the symbol is missing.
(Symbol as { dispose?: symbol }).dispose ??= Symbol.for("Symbol.dispose");

/** util.inspect's hook (console.log, the notebook's text form), without importing node:util. */
const INSPECT = Symbol.for("nodejs.util.inspect.custom");

export type CallArgs = ResourceMap;

/**
 * Bounds on what a program records. Every operation lays out at least one zone, so a program
 * of more operations than SZCP_LIMITS.maxZones can never make a workflow a server accepts;
 * without the bound, a few `subroutine` calls that each inline the previous program twice
 * doubled its operations per line and ended in a bare RangeError (2^17 operations). Scopes
 * nest through the user's callbacks, and each level costs stack frames here and in the
 * graph's layout: past ~2 000 levels the program died of a stack overflow instead of an
 * SfcsError at the call.
 */
export const SFCS_LIMITS = {
  /** Operations (run, loop, when, capture, feed) of one program, nested and inlined ones included. */
  maxOperations: SZCP_LIMITS.maxZones,
  /** Loops and branches open inside each other. */
  maxNestingDepth: 256,
  /** A loop's `min` and `max` (SZCP_LIMITS.maxCount). */
  maxLoopBound: SZCP_LIMITS.maxCount,
} as const;

export interface LoopOptions {
  /** Body iterations before the model's jump is honoured. */
  min?: number;
  /** Body iterations after which the exit is taken by force. */
  max?: number;
  /** Resources for the head's `custom` placeholders, by resource name. */
  args?: CallArgs;
}

export interface WhenOptions {
  args?: CallArgs;
}

export interface ToolOptions {
  tool?: string;
  args?: CallArgs;
}

export interface WorkflowFactory {
  /** Samples the resources and returns one SZCP workflow. */
  (args?: ResourceMap): SzcpWorkflow;
  readonly graph: RzcpGraph;
  /** Resource names the factory's arguments must provide (`argument` placeholders). */
  readonly argumentNames: readonly string[];
}

export interface ProgramOptions {
  /** Recorded in the workflows' meta. */
  name?: string;
}

/** Shared state of one program and all its scopes. */
interface ProgramState {
  sequences: Readonly<Record<string, ZcpSequence>>;
  resources: BoundResources;
  config: UdplConfig;
  problems: SfcsProblem[];
  /** Innermost last; a level may hold two scopes (a when's if and else branches). */
  open: Array<{ scopes: FlowScope[]; site: CallSite }>;
  extractions: Array<SzcpExtraction & { site: CallSite }>;
  /** Tool of the latest capture, the default for a feed without one. */
  lastCaptureTool: string | null;
  toolsUsed: Set<string>;
  name: string | undefined;
  /** The program's own scope: the innermost one when no other is open. */
  root: FlowScope;
  /** Operations recorded in all scopes (SFCS_LIMITS.maxOperations). */
  operations: number;
}

/** What every scope offers: the program itself, a loop body, a branch. */
export class FlowScope {
  /** @internal */ readonly ops: FlowOp[] = [];

  /** @internal */
  constructor(
    /** @internal */ readonly state: ProgramState,
    private readonly label: string,
  ) {}

  /** Feeds the sequence's zones in order. */
  run(sequence: string, args?: CallArgs): this {
    const site = captureSite(`${this.label}.run(${JSON.stringify(sequence)})`);
    this.push(this.runOp(sequence, args, site, new CallCheck(site)), site);
    return this;
  }

  /**
   * A loop: `head` is fed first; its last zone is a jump site (model's control pattern →
   * exit). Callback form: `loop(head, (body) => { … }, options)`. Using form:
   * `{ using body = program.loop(head, options); body.run(…) }` (closes at dispose).
   */
  loop(head: string, body: (loop: LoopScope) => void, options?: LoopOptions): this;
  loop(head: string, options?: LoopOptions): LoopScope;
  loop(head: string, bodyOrOptions?: ((loop: LoopScope) => void) | LoopOptions, maybeOptions?: LoopOptions): this | LoopScope {
    const callback = typeof bodyOrOptions === "function" ? bodyOrOptions : null;
    const options: LoopOptions = (callback ? maybeOptions : (bodyOrOptions as LoopOptions | undefined)) ?? {};
    const site = captureSite(`${this.label}.loop(${JSON.stringify(head)})`);
    const check = new CallCheck(site);
    if (bodyOrOptions !== undefined && !callback && (typeof bodyOrOptions !== "object" || bodyOrOptions === null)) {
      check.problem(`loop's second argument is the body callback (body) => { … } or the options { min, max, args }, got ${describeValue(bodyOrOptions)}`);
    }
    const sequence = this.lookup(head, check);
    const { min, max } = this.loopBounds(options, check);
    const bound = this.bind(sequence, options.args, check);
    this.checkNesting(check);
    check.throwIfAny();
    const scope = new LoopScope(this.state, "loop", site);
    const op: LoopOp = { kind: "loop", head: sequence!, body: scope.ops, min, max, ...bound };
    if (!callback) {
      this.push(op, site);
      this.state.open.push({ scopes: [scope], site });
      return scope;
    }
    this.atomically(() => {
      this.push(op, site);
      this.state.open.push({ scopes: [scope], site });
      try {
        callback(scope);
      } finally {
        scope.close();
      }
    });
    return this;
  }

  /** A branch: the condition's last zone is a jump site: nominal → if-branch, jump → else-branch. */
  when(condition: string, branches: (ifBranch: FlowScope, elseBranch: FlowScope) => void, options: WhenOptions = {}): this {
    const site = captureSite(`${this.label}.when(${JSON.stringify(condition)})`);
    const check = new CallCheck(site);
    const sequence = this.lookup(condition, check);
    if (typeof branches !== "function") check.problem(`when needs a callback (ifBranch, elseBranch) => { … }, got ${describeValue(branches)}`);
    const bound = this.bind(sequence, options?.args, check);
    this.checkNesting(check);
    check.throwIfAny();
    const ifBranch = new FlowScope(this.state, "ifBranch");
    const elseBranch = new FlowScope(this.state, "elseBranch");
    const op: WhenOp = { kind: "when", condition: sequence!, ifBranch: ifBranch.ops, elseBranch: elseBranch.ops, ...bound };
    this.atomically(() => {
      this.push(op, site);
      const level = { scopes: [ifBranch, elseBranch], site };
      this.state.open.push(level);
      try {
        branches(ifBranch, elseBranch);
      } finally {
        const top = this.state.open.lastIndexOf(level);
        if (top >= 0) this.state.open.splice(top, 1);
      }
      if (ifBranch.ops.length === 0) this.problem("the if-branch is empty (an empty else-branch is fine)", site);
    });
    return this;
  }

  /** Inlines another program's operations and extractions here. */
  subroutine(other: Program): this {
    const site = captureSite(`${this.label}.subroutine(…)`);
    if (!(other instanceof Program)) throw new SfcsError([{ message: `subroutine expects a program made by newProgram, got ${describeValue(other)}`, site }]);
    const theirs = other.state;
    if (theirs === this.state) throw new SfcsError([{ message: "a program cannot be its own subroutine", site }]);
    const mismatch = configMismatch(this.state.config, theirs.config);
    if (mismatch) throw new SfcsError([{ message: `the subroutine's config differs: ${mismatch}`, site }]);
    this.checkOperations(theirs.operations, site);
    for (const open of theirs.open) this.problem(`the subroutine still has a scope open (${formatSite(open.site)})`, site);
    for (const p of theirs.problems) this.state.problems.push({ message: `in subroutine: ${p.message}`, site: p.site });
    for (const e of theirs.extractions) {
      const same = this.state.extractions.find((mine) => mine.name === e.name);
      if (!same) this.state.extractions.push(e);
      else if (JSON.stringify(same.tags) !== JSON.stringify(e.tags)) this.problem(`the subroutine's extraction "${e.name}" clashes with one declared at ${formatSite(same.site)}`, site);
    }
    for (const t of theirs.toolsUsed) this.state.toolsUsed.add(t);
    if (this.checkOpen(site)) {
      for (const op of other.ops) this.ops.push(op);
      this.state.operations += theirs.operations;
    }
    return this;
  }

  /** Runs the sequence; the generated text of its last zone is sent to `tool` when the zone ends. */
  capture(sequence: string, options: ToolOptions): this {
    const site = captureSite(`${this.label}.capture(${JSON.stringify(sequence)})`);
    const check = new CallCheck(site);
    const tool = this.tool(options?.tool, check, false);
    const op = this.runOp(sequence, options?.args, site, check);
    op.capture = tool;
    this.state.lastCaptureTool = tool;
    this.state.toolsUsed.add(tool!);
    this.push(op, site);
    return this;
  }

  /** Runs the sequence; its last zone's generation is replaced by the tool's output. */
  feed(sequence: string, options: ToolOptions = {}): this {
    const site = captureSite(`${this.label}.feed(${JSON.stringify(sequence)})`);
    const check = new CallCheck(site);
    const tool = this.tool(options?.tool, check, true);
    const op = this.runOp(sequence, options?.args, site, check);
    op.feed = tool;
    this.state.toolsUsed.add(tool!);
    this.push(op, site);
    return this;
  }

  /** A short summary of the scope's calls. */
  toString(): string {
    return summarize(`${this.label} scope`, this.ops, null);
  }

  /** @internal console.log and the notebook show the summary, not the program's state inside. */
  [INSPECT](): string {
    return this.toString();
  }

  // ── internals ────────────────────────────────────────────────────────────

  /** @internal */
  problem(message: string, site: CallSite): void {
    this.state.problems.push({ message, site });
  }

  /** The run operation, once the call's checks passed (throws the call's problems otherwise). */
  private runOp(name: string, args: CallArgs | undefined, site: CallSite, check: CallCheck): RunOp {
    const sequence = this.lookup(name, check);
    const bound = this.bind(sequence, args, check);
    check.throwIfAny();
    return { kind: "run", sequence: sequence!, capture: null, feed: null, ...bound };
  }

  private push(op: FlowOp, site: CallSite): void {
    this.checkOperations(1, site);
    if (this.checkOpen(site)) {
      this.ops.push(op);
      this.state.operations++;
    }
  }

  /** Throws at the call when `added` more operations would pass SFCS_LIMITS.maxOperations. */
  private checkOperations(added: number, site: CallSite): void {
    const total = this.state.operations + added;
    if (total > SFCS_LIMITS.maxOperations)
      throw new SfcsError([
        {
          message: `the program would have ${total} operations, over SFCS_LIMITS.maxOperations = ${SFCS_LIMITS.maxOperations} (each lays out at least one zone, and a workflow holds at most SZCP_LIMITS.maxZones); a subroutine inlines all of its program's operations`,
          site,
        },
      ]);
  }

  /** A problem of the call when the scope it opens would nest deeper than SFCS_LIMITS.maxNestingDepth. */
  private checkNesting(check: CallCheck): void {
    if (this.state.open.length >= SFCS_LIMITS.maxNestingDepth)
      check.problem(`loops and branches nest deeper than SFCS_LIMITS.maxNestingDepth = ${SFCS_LIMITS.maxNestingDepth} here`);
  }

  /**
   * Runs a callback that records into this scope; if it throws (a mistake inside a loop body
   * or branch), what it recorded is undone, so the call that opened the scope records nothing.
   */
  private atomically(record: () => void): void {
    const { state } = this;
    const saved = { ops: this.ops.length, operations: state.operations, problems: state.problems.length, extractions: state.extractions.length, lastCaptureTool: state.lastCaptureTool, toolsUsed: new Set(state.toolsUsed), open: state.open.length };
    try {
      record();
    } catch (err) {
      this.ops.length = Math.min(this.ops.length, saved.ops);
      state.operations = Math.min(state.operations, saved.operations);
      state.problems.length = Math.min(state.problems.length, saved.problems);
      state.extractions.length = Math.min(state.extractions.length, saved.extractions);
      state.lastCaptureTool = saved.lastCaptureTool;
      state.toolsUsed = saved.toolsUsed;
      state.open.length = Math.min(state.open.length, saved.open);
      throw err;
    }
  }

  /** Calls must go to the innermost open scope; anything else means scopes interleave. */
  private checkOpen(site: CallSite): boolean {
    const top = this.state.open[this.state.open.length - 1];
    const innermost = top ? top.scopes : [this.state.root];
    if (innermost.includes(this)) return true;
    if (top) this.problem(`call on an outer scope while the scope of ${formatSite(top.site)} is still open`, site);
    else this.problem("call on a scope that is already closed", site);
    return false;
  }

  private lookup(name: string, check: CallCheck): ZcpSequence | null {
    const seq = typeof name === "string" && Object.hasOwn(this.state.sequences, name) ? this.state.sequences[name] : undefined;
    if (seq) return seq;
    const known = Object.keys(this.state.sequences);
    const what = typeof name === "string" ? `unknown sequence ${JSON.stringify(name)}` : `a sequence name is a string, got ${describeValue(name)}`;
    const near = typeof name === "string" ? closest(name, known) : null;
    check.problem(`${what}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ""}; known sequences: ${listNames(known)}`);
    return null;
  }

  /**
   * Binds call arguments to the sequence's `custom` placeholders (by resource name). An
   * argument for an `argument` placeholder is named as such: its value is given to the
   * factory, when a workflow is made, not to the call.
   */
  private bind(sequence: ZcpSequence | null, args: CallArgs | undefined, check: CallCheck): { args: BoundResources; programResources: BoundResources; site: CallSite } {
    const bound: Record<string, Resource> = Object.create(null);
    const result = { args: bound, programResources: this.state.resources, site: check.site };
    if (args !== undefined && (typeof args !== "object" || args === null || Array.isArray(args))) {
      check.problem(`arguments must be an object keyed by resource name, got ${describeValue(args)}`);
      return result;
    }
    if (!sequence) return result;
    const custom = placeholdersByResource(sequence, "custom");
    const factoryArgs = placeholdersByResource(sequence, "argument");
    const misplaced: string[] = [];
    for (const [name, value] of Object.entries(args ?? {})) {
      if (factoryArgs.has(name) && !custom.has(name)) {
        misplaced.push(name);
        continue;
      }
      if (!custom.has(name)) {
        const expected = custom.size ? [...custom.keys()].join(", ") : "none";
        const near = closest(name, [...custom.keys()]);
        check.problem(
          `argument "${name}" fills no custom placeholder of sequence "${sequence.name}"${near ? ` (did you mean "${near}"?)` : ""} (custom resources expected: ${expected}); arguments are keyed by resource name`,
        );
        continue;
      }
      try {
        bound[name] = toResource(value, `argument "${name}"`);
      } catch (err) {
        if (!(err instanceof ResourceError)) throw err;
        check.problem(err.message);
      }
    }
    if (misplaced.length) {
      const which = misplaced.map((name) => `${factoryArgs.get(name)!.join(", ")} → "${name}"`).join("; ");
      const names = misplaced.join(", ");
      check.problem(
        `${misplaced.length === 1 ? `"${names}" is a factory argument` : `${names} are factory arguments`} (type = "argument" placeholder${misplaced.length === 1 ? "" : "s"} of sequence "${sequence.name}": ${which}): ` +
          `give ${misplaced.length === 1 ? "it" : "them"} when a workflow is made, factory({ ${names} }) with factory = program.compile(), not to ${check.site.call}`,
      );
    }
    for (const [name, placeholders] of custom) {
      if (!bound[name] && !(args && Object.hasOwn(args, name))) {
        check.problem(`sequence "${sequence.name}" has custom placeholder ${placeholders.join(", ")} filled by resource "${name}": pass it as { ${name}: … }`);
      }
    }
    return result;
  }

  private loopBounds(options: LoopOptions, check: CallCheck): { min: number | null; max: number | null } {
    const bound = (key: "min" | "max", lowest: number): number | null => {
      const v = options[key];
      if (v === undefined || v === null) return null;
      if (typeof v !== "number" || !Number.isInteger(v) || v < lowest) {
        check.problem(`loop ${key} must be an integer ≥ ${lowest}, got ${describeValue(v)}`);
        return null;
      }
      if (v > SFCS_LIMITS.maxLoopBound) {
        check.problem(`loop ${key} = ${v} is over SFCS_LIMITS.maxLoopBound = ${SFCS_LIMITS.maxLoopBound}`);
        return null;
      }
      return v;
    };
    const min = bound("min", 0);
    const max = bound("max", 1);
    if (min !== null && max !== null && min > max) check.problem(`loop min (${min}) is greater than max (${max})`);
    return { min, max };
  }

  private tool(name: string | undefined, check: CallCheck, isFeed: boolean): string | null {
    const { config } = this.state;
    let tool = name;
    if (tool === undefined && isFeed) tool = this.state.lastCaptureTool ?? (config.tools?.length === 1 ? config.tools[0] : undefined);
    if (typeof tool !== "string" || tool === "") {
      check.problem(isFeed ? "feed needs { tool: name } (no earlier capture to take it from)" : "capture needs { tool: name }");
      return null;
    }
    if (config.tools && !config.tools.includes(tool)) {
      check.problem(`tool "${tool}" is not in [config].tools (${config.tools.join(", ") || "empty"})`);
    }
    return tool;
  }
}

/** A loop body opened by `loop(head)` without a callback: close it with `using` or `close()`. */
export class LoopScope extends FlowScope {
  private closed = false;

  /** @internal */
  constructor(
    state: ProgramState,
    label: string,
    private readonly opened: CallSite,
  ) {
    super(state, label);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const open = this.state.open;
    const top = open[open.length - 1];
    if (top && top.scopes.includes(this)) open.pop();
    else {
      const at = open.findIndex((level) => level.scopes.includes(this));
      if (at >= 0) open.splice(at, 1);
      this.problem("loop scope closed while an inner scope was still open (scopes must close in order)", this.opened);
    }
    if (this.ops.length === 0) this.problem("the loop body is empty", this.opened);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** One call's problems: thrown together, before the call records anything. */
class CallCheck {
  private readonly problems: SfcsProblem[] = [];
  constructor(readonly site: CallSite) {}

  problem(message: string): void {
    this.problems.push({ message, site: this.site });
  }

  throwIfAny(): void {
    if (this.problems.length) throw new SfcsError(this.problems, `${this.site.call} has errors`);
  }
}

/** A value as an error message names it: short, never the whole object. */
function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "undefined") return String(value);
  return typeof value === "function" ? "a function" : `a ${typeof value}`;
}

/** At most 20 names, then how many more. */
function listNames(names: readonly string[]): string {
  if (names.length === 0) return "none";
  return names.length <= 20 ? names.join(", ") : `${names.slice(0, 20).join(", ")} … (${names.length - 20} more)`;
}

/** The known name nearest a mistyped one (edit distance ≤ 2, or one that differs only in case), if any. */
function closest(name: string, known: readonly string[]): string | null {
  if (name.length > 64) return null;
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of known.slice(0, 1000)) {
    if (candidate.length > 64 || Math.abs(candidate.length - name.length) >= bestDistance) continue;
    const d = candidate.toLowerCase() === name.toLowerCase() ? 0 : editDistance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}

/** A sequence's placeholders of one type, by the resource that fills them: resource → ["{u}", …]. */
function placeholdersByResource(sequence: ZcpSequence, type: "custom" | "argument"): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const zone of sequence.zones) {
    for (const part of zone.parts) {
      if (part.kind !== "placeholder" || part.spec.type !== type) continue;
      const list = found.get(part.spec.resource) ?? [];
      const shown = `{${part.spec.placeholder}}`;
      if (!list.includes(shown)) list.push(shown);
      found.set(part.spec.resource, list);
    }
  }
  return found;
}

/** How a recorded operation reads in a summary: `run("x")`, `loop("h") { 2 calls }`. */
function describeOp(op: FlowOp): string {
  if (op.kind === "run") return `${op.capture ? "capture" : op.feed ? "feed" : "run"}(${JSON.stringify(op.sequence.name)})`;
  if (op.kind === "loop") return `loop(${JSON.stringify(op.head.name)}) { ${countCalls(op.body)} }`;
  return `when(${JSON.stringify(op.condition.name)}) { ${countCalls(op.ifBranch)} } else { ${countCalls(op.elseBranch)} }`;
}

function countCalls(ops: readonly FlowOp[]): string {
  return ops.length === 1 ? describeOp(ops[0]!) : `${ops.length} calls`;
}

/** The short summary a Program shows in a notebook or console.log, instead of its internals. */
function summarize(label: string, ops: readonly FlowOp[], state: ProgramState | null): string {
  const shown = ops.slice(0, 8).map(describeOp);
  if (ops.length > 8) shown.push(`… ${ops.length - 8} more`);
  const parts = [`${label}${state?.name ? ` ${JSON.stringify(state.name)}` : ""}: ${ops.length === 0 ? "no calls yet" : shown.join(" → ")}`];
  if (!state) return parts[0]!;
  if (state.extractions.length) parts.push(`extracts ${state.extractions.map((e) => `${e.name} [${e.tags.join(", ")}]`).join(", ")}`);
  if (state.open.length) parts.push(`${state.open.length} scope${state.open.length === 1 ? "" : "s"} open`);
  if (state.problems.length) parts.push(`${state.problems.length} problem${state.problems.length === 1 ? "" : "s"} (compile() lists them)`);
  return parts.join(" · ");
}

export class Program extends FlowScope {
  /** @internal */
  constructor(state: ProgramState) {
    super(state, "program");
  }

  /** A short summary (what a notebook shows for a program): its calls, extractions, open scopes, problems. */
  override toString(): string {
    return summarize("Program", this.ops, this.state);
  }

  /** Declares an extraction: per stream, the text of tokens whose zone carries any of `tags`. */
  extract(name: string, tags: string | readonly string[]): this {
    const site = captureSite(`program.extract(${JSON.stringify(name)})`);
    const check = new CallCheck(site);
    const list = typeof tags === "string" ? [tags] : Array.isArray(tags) ? tags.slice() : null;
    if (typeof name !== "string" || name === "") check.problem("extract needs a non-empty name");
    else if (RESERVED_EXTRACTION_NAMES.includes(name))
      check.problem(`the extraction name ${JSON.stringify(name)} is reserved (results are keyed by extraction name, and a result already has ${RESERVED_EXTRACTION_NAMES.map((n) => JSON.stringify(n)).join(" and ")}); pick another name`);
    else if (this.state.extractions.some((e) => e.name === name)) check.problem(`extraction "${name}" is declared twice (first at ${this.state.extractions.find((e) => e.name === name)!.site.location})`);
    if (!list || list.length === 0) check.problem("extract needs at least one tag");
    const valid = this.state.config.validTags;
    for (const tag of list ?? []) {
      if (typeof tag !== "string" || !valid.includes(tag)) {
        const near = typeof tag === "string" ? closest(tag, valid) : null;
        check.problem(`extraction of unknown tag ${JSON.stringify(tag)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ""}; valid_tags: ${JSON.stringify(valid)}`);
      }
    }
    check.throwIfAny();
    this.state.extractions.push({ name, tags: [...new Set(list)], site });
    return this;
  }

  /** Checks the whole program and returns its workflow factory; throws SfcsError listing every problem. */
  compile(): WorkflowFactory {
    const site = captureSite("program.compile()");
    const problems = [...this.state.problems];
    for (const level of this.state.open) problems.push({ message: "scope opened here was never closed (close it, or declare it with `using`)", site: level.site });
    if (this.ops.length === 0) problems.push({ message: "the program is empty: nothing to run", site });
    if (problems.length) throw new SfcsError(problems, "the SFCS program has errors");

    const config = this.state.config;
    const szcpConfig: SzcpConfig = {
      zoneTokens: config.zoneTokens.slice(),
      controlToken: config.controlToken,
      escape: config.escape ? { ...config.escape } : null,
      tokenizerOverride: { ...config.tokenizerOverride },
      tools: config.tools ? config.tools.slice() : [...this.state.toolsUsed].sort(),
      ...(config.chatRoles ? { chatRoles: config.chatRoles.slice() } : {}),
    };
    const sources = new Set<string>();
    collectSources(this.ops, sources);
    const meta: Record<string, string> = { source: [...sources].join(", ") };
    if (this.state.name) meta.program = this.state.name;
    const graph = buildGraph(this.ops, {
      config: szcpConfig,
      extractions: this.state.extractions.map(({ name, tags }) => ({ name, tags })),
      meta,
    });
    const factory = ((args?: ResourceMap) => lowerGraph(graph, args ?? {}, captureSite("factory(args)"))) as WorkflowFactory;
    Object.defineProperty(factory, "graph", { value: graph });
    Object.defineProperty(factory, "argumentNames", { value: graph.argumentNames });
    const summary = `WorkflowFactory${this.state.name ? ` ${JSON.stringify(this.state.name)}` : ""}: ${graph.nodes.length} zones${graph.argumentNames.length ? `, arguments: ${graph.argumentNames.join(", ")} (call it with { ${graph.argumentNames.join(", ")} })` : ", no arguments (call it with no arguments)"}`;
    Object.defineProperty(factory, INSPECT, { value: () => summary });
    Object.defineProperty(factory, "toString", { value: () => summary });
    return factory;
  }
}

function collectSources(ops: readonly FlowOp[], into: Set<string>): void {
  for (const op of ops) {
    if (op.kind === "run") into.add(op.sequence.file);
    else if (op.kind === "loop") {
      into.add(op.head.file);
      collectSources(op.body, into);
    } else {
      into.add(op.condition.file);
      collectSources(op.ifBranch, into);
      collectSources(op.elseBranch, into);
    }
  }
}

function configMismatch(a: UdplConfig, b: UdplConfig): string | null {
  if (JSON.stringify(a.zoneTokens) !== JSON.stringify(b.zoneTokens)) return `zone_tokens ${JSON.stringify(b.zoneTokens)} vs ${JSON.stringify(a.zoneTokens)}`;
  if (a.controlToken !== b.controlToken) return `control_token ${JSON.stringify(b.controlToken)} vs ${JSON.stringify(a.controlToken)}`;
  if (JSON.stringify(a.escape) !== JSON.stringify(b.escape)) return "escape patterns differ";
  return null;
}

/**
 * Starts a program over parsed sequences. `resources` fill `standard` placeholders (plain
 * values become static resources); a standard placeholder without its resource throws a
 * ResourceError naming the placeholder and the sequence.
 */
export function newProgram(
  sequences: Readonly<Record<string, ZcpSequence>>,
  resources: ResourceMap,
  config: UdplConfig,
  options: ProgramOptions = {},
): Program {
  if (typeof sequences !== "object" || sequences === null) throw new SfcsError([{ message: "newProgram needs the sequences from parseUdpl", site: captureSite("newProgram(…)") }]);
  if (typeof config !== "object" || config === null || !Array.isArray(config.zoneTokens)) {
    throw new SfcsError([{ message: "newProgram needs the config from parseUdpl as its third argument", site: captureSite("newProgram(…)") }]);
  }
  const bound: Record<string, Resource> = Object.create(null);
  for (const [name, value] of Object.entries(resources ?? {})) bound[name] = toResource(value, `resource "${name}"`);
  const missing: string[] = [];
  for (const seq of Object.values(sequences)) {
    for (const block of seq.blocks) {
      for (const spec of Object.values(block.placeholders)) {
        if (spec.type === "standard" && !bound[spec.resource]) {
          missing.push(`placeholder {${spec.placeholder}} of sequence "${seq.name}" (block ${block.index}) needs resource "${spec.resource}"`);
        }
      }
    }
  }
  if (missing.length) {
    throw new ResourceError(`missing resources given to newProgram:\n  - ${missing.join("\n  - ")}\n(pass them as newProgram(sequences, { name: resource }, config))`);
  }
  const state: ProgramState = {
    sequences,
    resources: bound,
    config,
    problems: [],
    open: [],
    extractions: [],
    lastCaptureTool: null,
    toolsUsed: new Set(),
    name: options.name,
    root: undefined as unknown as FlowScope,
    operations: 0,
  };
  const program = new Program(state);
  state.root = program;
  return program;
}
