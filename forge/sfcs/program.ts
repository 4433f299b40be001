/// <reference lib="esnext.disposable" />
/**
 * The SFCS builder (docs/language.md#sfcs): `newProgram(sequences, resources, config)` records flow
 * operations into scopes; `compile()` checks the whole program, lays it out as an RZCP
 * graph and returns a factory that samples SZCP workflows.
 *
 * Problems found while recording (unknown sequence, bad loop bounds, unknown tool …) are
 * collected with their call sites and thrown together by `compile()`.
 */
import { toResource } from "../resources/resources.js";
import { ResourceError } from "../resources/errors.js";
import type { Resource, ResourceMap } from "../resources/types.js";
import { buildGraph } from "../rzcp/build.js";
import { lowerGraph } from "../rzcp/lower.js";
import type { RzcpGraph } from "../rzcp/types.js";
import type { SzcpConfig, SzcpExtraction, SzcpWorkflow } from "../szcp/types.js";
import { RESERVED_EXTRACTION_NAMES } from "../szcp/limits.js";
import type { UdplConfig } from "../udpl/types.js";
import type { ZcpSequence } from "../zcp/types.js";
import { captureSite } from "./callsite.js";
import { SfcsError, formatSite, type CallSite, type SfcsProblem } from "./errors.js";
import type { BoundResources, FlowOp, LoopOp, RunOp, WhenOp } from "./types.js";

// Node 20 has no Symbol.dispose; `using` (lowered by TypeScript/esbuild) needs it. Symbol.for
// matches the fallback esbuild's helper uses when the symbol is missing.
(Symbol as { dispose?: symbol }).dispose ??= Symbol.for("Symbol.dispose");

export type CallArgs = ResourceMap;

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
    const op = this.runOp(sequence, args, site);
    if (op) this.push(op, site);
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
    const sequence = this.lookup(head, site);
    const { min, max } = this.loopBounds(options, site);
    const scope = new LoopScope(this.state, "loop", site);
    const op: LoopOp = { kind: "loop", head: sequence ?? EMPTY_SEQUENCE, body: scope.ops, min, max, ...this.bind(sequence, options.args, site) };
    this.push(sequence ? op : null, site);
    this.state.open.push({ scopes: [scope], site });
    if (!callback) return scope;
    try {
      callback(scope);
    } finally {
      scope.close();
    }
    return this;
  }

  /** A branch: the condition's last zone is a jump site: nominal → if-branch, jump → else-branch. */
  when(condition: string, branches: (ifBranch: FlowScope, elseBranch: FlowScope) => void, options: WhenOptions = {}): this {
    const site = captureSite(`${this.label}.when(${JSON.stringify(condition)})`);
    const sequence = this.lookup(condition, site);
    const ifBranch = new FlowScope(this.state, "ifBranch");
    const elseBranch = new FlowScope(this.state, "elseBranch");
    const op: WhenOp = { kind: "when", condition: sequence ?? EMPTY_SEQUENCE, ifBranch: ifBranch.ops, elseBranch: elseBranch.ops, ...this.bind(sequence, options.args, site) };
    this.push(sequence ? op : null, site);
    if (typeof branches !== "function") {
      this.problem("when needs a callback (ifBranch, elseBranch) => { … }", site);
      return this;
    }
    const level = { scopes: [ifBranch, elseBranch], site };
    this.state.open.push(level);
    try {
      branches(ifBranch, elseBranch);
    } finally {
      const top = this.state.open.lastIndexOf(level);
      if (top >= 0) this.state.open.splice(top, 1);
    }
    if (ifBranch.ops.length === 0) this.problem("the if-branch is empty (an empty else-branch is fine)", site);
    return this;
  }

  /** Inlines another program's operations and extractions here. */
  subroutine(other: Program): this {
    const site = captureSite(`${this.label}.subroutine(…)`);
    if (!(other instanceof Program)) {
      this.problem("subroutine expects a program made by newProgram", site);
      return this;
    }
    const theirs = other.state;
    if (theirs === this.state) {
      this.problem("a program cannot be its own subroutine", site);
      return this;
    }
    const mismatch = configMismatch(this.state.config, theirs.config);
    if (mismatch) this.problem(`the subroutine's config differs: ${mismatch}`, site);
    for (const open of theirs.open) this.problem(`the subroutine still has a scope open (${formatSite(open.site)})`, site);
    for (const p of theirs.problems) this.state.problems.push({ message: `in subroutine: ${p.message}`, site: p.site });
    for (const e of theirs.extractions) {
      const same = this.state.extractions.find((mine) => mine.name === e.name);
      if (!same) this.state.extractions.push(e);
      else if (JSON.stringify(same.tags) !== JSON.stringify(e.tags)) this.problem(`the subroutine's extraction "${e.name}" clashes with one declared at ${formatSite(same.site)}`, site);
    }
    for (const t of theirs.toolsUsed) this.state.toolsUsed.add(t);
    if (this.checkOpen(site)) this.ops.push(...other.ops);
    return this;
  }

  /** Runs the sequence; the generated text of its last zone is sent to `tool` when the zone ends. */
  capture(sequence: string, options: ToolOptions): this {
    const site = captureSite(`${this.label}.capture(${JSON.stringify(sequence)})`);
    const tool = this.tool(options?.tool, site, false);
    const op = this.runOp(sequence, options?.args, site);
    if (op) {
      op.capture = tool;
      this.state.lastCaptureTool = tool;
    }
    if (op) this.push(op, site);
    return this;
  }

  /** Runs the sequence; its last zone's generation is replaced by the tool's output. */
  feed(sequence: string, options: ToolOptions = {}): this {
    const site = captureSite(`${this.label}.feed(${JSON.stringify(sequence)})`);
    const tool = this.tool(options.tool, site, true);
    const op = this.runOp(sequence, options.args, site);
    if (op) {
      op.feed = tool;
      this.push(op, site);
    }
    return this;
  }

  // ── internals ────────────────────────────────────────────────────────────

  /** @internal */
  problem(message: string, site: CallSite): void {
    this.state.problems.push({ message, site });
  }

  private runOp(name: string, args: CallArgs | undefined, site: CallSite): RunOp | null {
    const sequence = this.lookup(name, site);
    const bound = this.bind(sequence, args, site);
    return sequence ? { kind: "run", sequence, capture: null, feed: null, ...bound } : null;
  }

  private push(op: FlowOp | null, site: CallSite): void {
    if (this.checkOpen(site) && op) this.ops.push(op);
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

  private lookup(name: string, site: CallSite): ZcpSequence | null {
    const seq = typeof name === "string" && Object.hasOwn(this.state.sequences, name) ? this.state.sequences[name] : undefined;
    if (seq) return seq;
    const known = Object.keys(this.state.sequences);
    this.problem(`unknown sequence ${JSON.stringify(name)}; known sequences: ${known.join(", ") || "none"}`, site);
    return null;
  }

  /** Binds call arguments to the sequence's `custom` placeholders (by resource name). */
  private bind(sequence: ZcpSequence | null, args: CallArgs | undefined, site: CallSite): { args: BoundResources; programResources: BoundResources; site: CallSite } {
    const bound: Record<string, Resource> = Object.create(null);
    const wanted = new Set<string>();
    for (const zone of sequence?.zones ?? []) {
      for (const part of zone.parts) if (part.kind === "placeholder" && part.spec.type === "custom") wanted.add(part.spec.resource);
    }
    if (args !== undefined && (typeof args !== "object" || args === null || Array.isArray(args))) {
      this.problem(`arguments must be an object keyed by resource name, got ${Array.isArray(args) ? "an array" : typeof args}`, site);
      args = undefined;
    }
    for (const [name, value] of Object.entries(args ?? {})) {
      if (!wanted.has(name)) {
        const expected = wanted.size ? [...wanted].join(", ") : "none";
        this.problem(`argument "${name}" fills no custom placeholder of sequence "${sequence?.name}" (custom resources expected: ${expected}); arguments are keyed by resource name`, site);
        continue;
      }
      try {
        bound[name] = toResource(value, `argument "${name}"`);
      } catch (err) {
        if (!(err instanceof ResourceError)) throw err;
        this.problem(err.message, site);
      }
    }
    for (const name of wanted) {
      if (!bound[name] && !(args && Object.hasOwn(args, name))) {
        const placeholders = sequence!.zones
          .flatMap((z) => z.parts)
          .filter((p) => p.kind === "placeholder" && p.spec.resource === name)
          .map((p) => (p.kind === "placeholder" ? `{${p.spec.placeholder}}` : ""));
        this.problem(
          `sequence "${sequence!.name}" has custom placeholder ${[...new Set(placeholders)].join(", ")} filled by resource "${name}": pass it as { ${name}: … }`,
          site,
        );
      }
    }
    return { args: bound, programResources: this.state.resources, site };
  }

  private loopBounds(options: LoopOptions, site: CallSite): { min: number | null; max: number | null } {
    const check = (key: "min" | "max", lowest: number): number | null => {
      const v = options[key];
      if (v === undefined || v === null) return null;
      if (typeof v !== "number" || !Number.isInteger(v) || v < lowest) {
        this.problem(`loop ${key} must be an integer ≥ ${lowest}, got ${JSON.stringify(v)}`, site);
        return null;
      }
      return v;
    };
    const min = check("min", 0);
    const max = check("max", 1);
    if (min !== null && max !== null && min > max) this.problem(`loop min (${min}) is greater than max (${max})`, site);
    return { min, max };
  }

  private tool(name: string | undefined, site: CallSite, isFeed: boolean): string | null {
    const { config } = this.state;
    let tool = name;
    if (tool === undefined && isFeed) tool = this.state.lastCaptureTool ?? (config.tools?.length === 1 ? config.tools[0] : undefined);
    if (typeof tool !== "string" || tool === "") {
      this.problem(isFeed ? "feed needs { tool: name } (no earlier capture to take it from)" : "capture needs { tool: name }", site);
      return null;
    }
    if (config.tools && !config.tools.includes(tool)) {
      this.problem(`tool "${tool}" is not in [config].tools (${config.tools.join(", ") || "empty"})`, site);
    }
    this.state.toolsUsed.add(tool);
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

const EMPTY_SEQUENCE: ZcpSequence = { name: "?", file: "", listed: false, blocks: [], zones: [] };

export class Program extends FlowScope {
  /** @internal */
  constructor(state: ProgramState) {
    super(state, "program");
  }

  /** Declares an extraction: per stream, the text of tokens whose zone carries any of `tags`. */
  extract(name: string, tags: string | readonly string[]): this {
    const site = captureSite(`program.extract(${JSON.stringify(name)})`);
    const list = typeof tags === "string" ? [tags] : Array.isArray(tags) ? tags.slice() : null;
    if (typeof name !== "string" || name === "") this.problem("extract needs a non-empty name", site);
    else if (RESERVED_EXTRACTION_NAMES.includes(name))
      this.problem(`the extraction name ${JSON.stringify(name)} is reserved (results are keyed by extraction name, and a result already has ${RESERVED_EXTRACTION_NAMES.map((n) => JSON.stringify(n)).join(" and ")}); pick another name`, site);
    else if (this.state.extractions.some((e) => e.name === name)) this.problem(`extraction "${name}" is declared twice`, site);
    if (!list || list.length === 0) {
      this.problem("extract needs at least one tag", site);
      return this;
    }
    const valid = this.state.config.validTags;
    for (const tag of list) {
      if (!valid.includes(tag)) this.problem(`extraction of unknown tag ${JSON.stringify(tag)}; valid_tags: ${JSON.stringify(valid)}`, site);
    }
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
  };
  const program = new Program(state);
  state.root = program;
  return program;
}
