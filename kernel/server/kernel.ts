/**
 * The kernel's cell process: runs cells and answers the requests that need them (execute,
 * complete, inspect, history, is_complete). The supervisor (supervisor.ts) owns the sockets,
 * hands requests over one at a time (CellProcessChannels, over Node's IPC), answers
 * kernel_info / interrupt / shutdown itself, aborts cells after a stop_on_error failure, and
 * replaces this process when it dies or stops responding.
 *
 * Every request gets a reply: a failure inside the kernel becomes an error reply naming it.
 */
import { setAmbientHooks } from "../../forge/session/ambient.js";
import { kernelOrigin } from "../cells/checker-thread.js";
import { buildTypeSurfaceInBackground, CellExecutor, checkCompleteness, codePointToUtf16, interruptedError, pagerTarget, preloadModules, quickInfoText, startCellChecker, utf16ToCodePoint, type CellChecker, type CellError, type CellOutcome } from "../cells/index.js";
import { HistoryRequestError, HistoryStore, type HistoryQuery } from "../history/index.js";
import { captureStreams, CellOutput, installDisplayGlobals, isDisplayHandle, ProgressDisplay, textPlain, type StreamCapture, type SvgRenderer } from "../output/index.js";
import type { IncomingChannel, JupyterMessage } from "../protocol/index.js";
import { getHeapStatistics } from "node:v8";
import { kernelInfo } from "./kernel-info.js";
import { registerTsx } from "../bundled.js";
import type { CellProcessChannels, ToCellProcess } from "./ipc.js";
import type { CellConverter } from "../cells/compiler.js";

export interface KernelOptions {
  /** SQLite file for history (default: FORGE_KERNEL_HISTORY or ~/.local/share/forge-kernel/history.sqlite). */
  historyPath?: string;
  /** How long an interrupted cell may take to stop by itself (honouring its AbortSignal) before it is cut off. */
  interruptGraceMs?: number;
  /** The cell type checker, when started before the kernel (main.ts does, first thing); else the kernel starts it. */
  checker?: CellChecker;
  /** Called when the kernel has shut down (default: exit the process). */
  onShutdown?: () => void;
}

/** FORGE_KERNEL_TIMING=1 logs how long the start's stages took (to stderr). */
const timing = process.env.FORGE_KERNEL_TIMING === "1";

interface RunningCell {
  /** The execute_request's msg_id (interrupts name the cell they are meant for). */
  msgId: string;
  controller: AbortController;
  startedAt: number;
  forceTimer: NodeJS.Timeout | null;
}

type ExecuteContent = { code?: unknown; silent?: unknown; store_history?: unknown };
type Reply = (msgType: string, content: unknown) => Promise<void>;

/** FORGE_KERNEL_FAULT=<msg_type>: the handler of that message type throws (a test hook: an internal failure). */
const FAULT = process.env.FORGE_KERNEL_FAULT ?? "";

/**
 * `exit` / `quit` typed as a whole cell (jupyter console's way out, as in IPython): the reply
 * carries the ask_exit payload, which the console obeys; a notebook ignores it.
 */
export function isExitCommand(code: string): boolean {
  return /^\s*(?:exit|quit)\s*(?:\(\s*\))?\s*;?\s*$/.test(code);
}

/** What a cell calling process.exit() gets instead of the kernel exiting under it. */
class ProcessExitError extends Error {
  constructor(code: unknown) {
    super(`process.exit(${code === undefined ? "" : String(code)}) was called by a cell; the kernel does not exit (restart it from the front-end to start afresh)`);
    this.name = "ProcessExit";
  }
}

export class Kernel {
  private readonly history: HistoryStore;
  private readonly capture: StreamCapture;
  private readonly graceMs: number;
  private executor: Promise<CellExecutor> | null = null;
  private preloadFailures: string[] = [];
  private executionCount = 0;
  /** Where stray output (streams, late displays, late rejections) goes: the running or last cell. */
  private currentOutput: CellOutput;
  private running: RunningCell | null = null;
  /** An interrupt that named a cell not yet running (it is stopped as it starts). */
  private interruptPending: string | null = null;
  private shellQueue: Promise<void> = Promise.resolve();
  private shuttingDown = false;
  /** process.exit, kept for the kernel's own exit (cells get ProcessExitError). */
  private readonly exit: (code?: number) => never = process.exit.bind(process);

  constructor(
    private readonly channels: CellProcessChannels,
    private readonly options: KernelOptions = {},
  ) {
    this.capture = captureStreams((name, text) => this.currentOutput.stream(name, text));
    this.history = new HistoryStore(options.historyPath);
    this.graceMs = options.interruptGraceMs ?? 400;
    this.currentOutput = this.outputFor(null);
    installDisplayGlobals({ current: () => this.currentOutput, svgRenderer: () => this.svgRenderer() });
  }

  log(text: string): void {
    this.capture.log(`[forge-kernel] ${text}`);
  }

  async start(): Promise<void> {
    // The type checker's thread is the longest part of the start (TypeScript, @types/node, the
    // type surface): start it first. It runs on another core.
    this.startChecker();
    this.channels.listen((channel, message) => this.receive(channel, message), (message) => this.fromSupervisor(message));
    // Interrupts come from the supervisor: over IPC, naming their cell, and as a SIGINT that
    // breaks a cell's synchronous code (vm's breakOnSigint). A SIGINT that reaches this listener
    // came when no cell code was running: acting on it could stop the wrong cell.
    process.on("SIGINT", () => undefined);
    // A promise rejected after its cell finished must not take the kernel down: report it where the output is.
    process.on("unhandledRejection", (reason) => this.reportStray("Unhandled promise rejection", reason));
    process.on("uncaughtException", (error) => this.reportStray("Uncaught exception", error));
    // A cell's process.exit() is an error in that cell, not the end of the kernel.
    process.exit = ((code?: unknown) => {
      throw new ProcessExitError(code);
    }) as typeof process.exit;
    // The supervisor answers kernel_info: nothing to keep waiting here.
    setImmediate(() => {
      void this.ensureExecutor().then(
        () => this.channels.send({ t: "prepared", heapLimitMb: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20) }),
        () => undefined,
      );
    });
  }

  /** The cell executor, prepared on first call. */
  private ensureExecutor(): Promise<CellExecutor> {
    if (!this.executor) {
      this.executor = this.prepareExecutor();
      this.executor.catch((e: Error) => this.log(`cannot start the cell executor: ${e.stack}`));
    }
    return this.executor;
  }

  /** The supervisor's own messages. */
  private fromSupervisor(message: Exclude<ToCellProcess, { t: "request" }>): void {
    switch (message.t) {
      case "interrupt": {
        const hit = this.running?.msgId === message.target;
        if (hit) this.interrupt();
        else this.interruptPending = message.target;
        this.channels.send({ t: "ack", target: message.target, running: hit });
        return;
      }
      case "ping":
        this.channels.send({ t: "pong", id: message.id });
        return;
      case "shutdown":
        void this.shutdown();
        return;
    }
  }

  private checker: CellChecker | null = null;

  /** Time since the kernel started (its supervisor: kernelOrigin), for the timing log. */
  private sinceStart(): string {
    return `${(performance.timeOrigin + performance.now() - kernelOrigin()).toFixed(0)} ms`;
  }

  /** The cell type checker: the one main.ts started, else started now (once). */
  private startChecker(): CellChecker {
    if (!this.checker) {
      const checker = (this.checker = this.options.checker ?? startCellChecker());
      if (timing) {
        void checker.stages.then((stages) =>
          this.log(`type checker thread (${checker.reads}): ${Object.entries(stages).map(([stage, ms]) => `${stage} ${ms.toFixed(0)} ms`).join(", ")}`),
        );
      }
    }
    return this.checker;
  }

  /** The imports (this thread) and the checker (its worker) proceed side by side. */
  private async prepareExecutor(): Promise<CellExecutor> {
    const checker = this.startChecker();
    const preload = await preloadModules();
    if (timing) this.log(`forge, viz, datasets imported ${this.sinceStart()} after the process started`);
    this.preloadFailures = Object.values(preload.failures);
    const executor = new CellExecutor(undefined, { converter: this.withPhases(await checker.converter) });
    // After this start, which they would slow down: tsx's hooks for cells that import .ts files
    // (when running from the bundle), and for the next start the type surface, if it was missing.
    setTimeout(() => {
      void registerTsx().catch((e: Error) => this.log(`cannot register tsx (.ts files cannot be imported): ${e.message}`));
      if (checker.surfaceMissing) buildTypeSurfaceInBackground();
    }, 0);
    return executor;
  }

  /**
   * The converter, telling the supervisor when a cell is being type-checked (this thread waits
   * for the checker's) and when its code starts: a SIGINT that breaks synchronous code is only
   * sent once it runs.
   */
  private withPhases(converter: CellConverter): CellConverter {
    return {
      ...converter,
      convert: (src) => {
        const id = this.running?.msgId;
        if (id) this.channels.send({ t: "phase", id, phase: "checking" });
        try {
          return converter.convert(src);
        } finally {
          if (id) this.channels.send({ t: "phase", id, phase: "running" });
        }
      },
      inspect: (...args) => converter.inspect(...args),
      complete: (...args) => converter.complete(...args),
      accept: (id) => converter.accept(id),
      close: () => converter.close(),
    };
  }

  private reportStray(what: string, reason: unknown): void {
    const text = reason instanceof Error ? (reason.stack ?? reason.message) : textPlain(reason);
    this.currentOutput.stream("stderr", `${what} (not fatal; from a cell that already finished or a background task):\n${text}\n`, true);
  }

  private svgRenderer(): SvgRenderer | null {
    try {
      const viz = (globalThis as Record<string, unknown>).viz as { renderSvg?: unknown } | undefined;
      return typeof viz?.renderSvg === "function" ? (viz.renderSvg as SvgRenderer) : null;
    } catch {
      return null; // viz failed to load
    }
  }

  private outputFor(parent: JupyterMessage | null): CellOutput {
    return new CellOutput(
      (msgType, content) => void this.channels.publish(msgType, content, parent?.header ?? null),
      () => this.svgRenderer(),
    );
  }

  // ── dispatch ────────────────────────────────────────────────────────────────

  private receive(channel: IncomingChannel, message: JupyterMessage): void {
    if (channel === "stdin") return; // the kernel never asks for input
    if (channel === "control") {
      void this.handle("control", message);
      return;
    }
    this.shellQueue = this.shellQueue.then(() => this.handle("shell", message));
  }

  /** Busy, the request, idle, then done (the supervisor hands over the next request). Never throws. */
  private async handle(channel: IncomingChannel, message: JupyterMessage): Promise<void> {
    if (this.shuttingDown) return;
    let replied = false;
    const reply: Reply = (type, content) => {
      replied = true;
      return this.channels.reply(channel, message, type, content);
    };
    try {
      if (!this.channels.takeBusyPublished(message.header.msg_id)) await this.channels.publish("status", { execution_state: "busy" }, message.header);
      await this.dispatch(channel, message, reply);
    } catch (e) {
      this.log(`${message.header.msg_type} failed: ${(e as Error).stack}`);
      if (!replied) await this.replyInternalError(message, reply, e);
    }
    await this.channels.publish("status", { execution_state: "idle" }, message.header);
    this.channels.send({ t: "done", id: message.header.msg_id });
  }

  /** A request whose handler failed still gets its reply: an error naming what failed. */
  private async replyInternalError(message: JupyterMessage, reply: Reply, e: unknown): Promise<void> {
    const type = message.header.msg_type;
    if (!type.endsWith("_request")) return; // nothing to answer (comm messages)
    const error = e instanceof Error ? e : new Error(String(e));
    const evalue = `${type} failed inside the kernel: ${error.message}`;
    const traceback = [`\x1b[31mKernelError\x1b[0m: ${evalue}`, ...(error.stack ?? "").split("\n").slice(1)];
    try {
      if (type === "execute_request") await this.channels.publish("error", { ename: "KernelError", evalue, traceback }, message.header);
      await reply(type.replace(/_request$/, "_reply"), { status: "error", ename: "KernelError", evalue, traceback, execution_count: this.executionCount });
    } catch (again) {
      this.log(`cannot send the error reply to ${type}: ${(again as Error).message}`);
    }
  }

  private async dispatch(channel: IncomingChannel, msg: JupyterMessage, reply: Reply): Promise<void> {
    if (FAULT !== "" && msg.header.msg_type === FAULT) throw new Error(`injected fault (FORGE_KERNEL_FAULT=${FAULT})`);
    switch (msg.header.msg_type) {
      case "kernel_info_request":
        return reply("kernel_info_reply", kernelInfo());
      case "execute_request":
        return this.execute(msg, reply);
      case "complete_request":
        return reply("complete_reply", await this.complete(msg.content));
      case "inspect_request":
        return reply("inspect_reply", await this.inspect(msg.content));
      case "is_complete_request":
        return reply("is_complete_reply", checkCompleteness(String(msg.content.code ?? "")));
      case "history_request":
        return reply("history_reply", this.historyReply(msg.content));
      case "comm_info_request":
        return reply("comm_info_reply", { status: "ok", comms: {} });
      case "interrupt_request":
        this.interrupt();
        return reply("interrupt_reply", { status: "ok" });
      case "comm_open":
      case "comm_msg":
      case "comm_close":
        return; // no comm targets: nothing to answer
      default:
        this.log(`unknown message type ${JSON.stringify(msg.header.msg_type)} on ${channel} ignored`);
    }
  }

  /** The history asked for; the request's own mistake is an error reply naming the field, without a stack trace. */
  private historyReply(content: unknown): Record<string, unknown> {
    try {
      return { status: "ok", history: this.history.query(content as HistoryQuery) };
    } catch (error) {
      if (!(error instanceof HistoryRequestError)) throw error;
      return { status: "error", ename: error.name, evalue: error.message, traceback: [`${error.name}: ${error.message}`] };
    }
  }

  // ── execute ────────────────────────────────────────────────────────────────

  /** Run a cell. stop_on_error (aborting the cells queued behind a failed one) is the supervisor's. */
  private async execute(msg: JupyterMessage, reply: Reply): Promise<void> {
    const content = msg.content as ExecuteContent;
    const code = typeof content.code === "string" ? content.code : "";
    const silent = content.silent === true;
    const storeHistory = !silent && content.store_history !== false;

    if (storeHistory) this.executionCount++;
    const count = this.executionCount;
    const output = this.outputFor(msg);
    this.currentOutput = output;
    if (!silent) await this.channels.publish("execute_input", { code, execution_count: count }, msg.header);
    if (storeHistory) this.history.record(count, code);

    let payload: unknown[] = [];
    let outcome: CellOutcome;
    const target = pagerTarget(code);
    if (isExitCommand(code)) {
      outcome = { status: "ok", hasValue: false, value: undefined };
      payload = [{ source: "ask_exit", keepkernel: false }];
      output.stream("stdout", "exit: the front-end is asked to close (jupyter console does; a notebook ignores it: use Kernel › Shut Down Kernel)\n");
    } else if (target !== null) {
      const page = await this.page(target);
      outcome = page.found ? { status: "ok", hasValue: false, value: undefined } : { status: "error", error: { ename: "NotFound", evalue: `nothing known about ${target}`, traceback: [`NotFound: nothing known about ${target}`] } };
      if (page.found) payload = [{ source: "page", data: page.data, start: 0 }];
    } else {
      outcome = await this.runCell(msg.header.msg_id, code, output);
    }

    // A display handle as the last expression (`display.markdown("…")`): the display is the output.
    if (outcome.status === "ok" && outcome.hasValue && !silent && outcome.value !== undefined && !isDisplayHandle(outcome.value)) {
      try {
        await output.result(outcome.value, count);
        if (storeHistory) this.history.recordOutput(count, textPlain(outcome.value));
      } catch (e) {
        outcome = { status: "error", error: { ename: "DisplayError", evalue: (e as Error).message, traceback: [`DisplayError: showing the result failed: ${(e as Error).message}`] } };
      }
    }
    if (output.charactersLeftOut > 0) output.stream("stderr", `[${output.charactersLeftOut} more characters of this cell's output were not shown]\n`, true);
    const interruption = this.lastInterruption;
    this.lastInterruption = null;
    if (interruption) outcome = { status: "error", error: this.describeInterruption(outcome, interruption) };

    if (outcome.status === "error") {
      await this.channels.publish("error", { ...outcome.error }, msg.header);
      await reply("execute_reply", { status: "error", execution_count: count, ...outcome.error });
      return;
    }
    await reply("execute_reply", { status: "ok", execution_count: count, payload, user_expressions: {} });
  }

  private lastInterruption: { afterMs: number } | null = null;

  private async runCell(msgId: string, code: string, output: CellOutput): Promise<CellOutcome> {
    // Running from the moment the request is taken: an interrupt while the executor is still
    // being prepared or the cell type-checked counts too.
    const cell: RunningCell = { msgId, controller: new AbortController(), startedAt: performance.now(), forceTimer: null };
    this.running = cell;
    if (this.interruptPending === msgId) this.interrupt();
    this.interruptPending = null;
    let outcome: CellOutcome;
    try {
      // A cell that waits here (the first) shows "Loading the workbench…": the supervisor's (it is free to say so at once).
      const executor = await this.ensureExecutor();
      if (this.preloadFailures.length > 0) {
        output.stream("stderr", this.preloadFailures.map((f) => `warning: ${f}\n`).join(""));
        this.preloadFailures = [];
      }
      const progress = new ProgressDisplay(() => output);
      setAmbientHooks({ signal: () => cell.controller.signal, progress: () => progress.listener });
      outcome = cell.controller.signal.aborted
        ? { status: "error", error: interruptedError("the cell was interrupted before it started") }
        : await executor.run(code, this.executionCount);
    } finally {
      this.running = null;
      if (cell.forceTimer) clearTimeout(cell.forceTimer);
    }
    await output.settled();
    if (cell.controller.signal.aborted) this.lastInterruption = { afterMs: performance.now() - cell.startedAt };
    return outcome;
  }

  /** The error an interrupted cell reports; a partial result, if any, was already shown. */
  private describeInterruption(outcome: CellOutcome, interruption: { afterMs: number }): CellError {
    const after = `after ${(interruption.afterMs / 1000).toFixed(1)} s`;
    if (outcome.status === "ok") {
      return interruptedError(`cell interrupted ${after}; it stopped early${outcome.hasValue ? " and the result above is partial" : ""}`);
    }
    if (outcome.error.ename === "Interrupted" && /before it finished/.test(outcome.error.evalue)) {
      return interruptedError(`cell interrupted ${after}; it did not stop by itself and was cut off`);
    }
    if (outcome.error.ename === "Interrupted") return outcome.error;
    return interruptedError(`cell interrupted ${after}; it stopped with ${outcome.error.ename}: ${outcome.error.evalue}`);
  }

  /** An interrupt for the running cell: abort its signal; cut it off if it ignores it. */
  interrupt(): void {
    const cell = this.running;
    if (!cell || cell.controller.signal.aborted) return;
    cell.controller.abort(new DOMException("the cell was interrupted", "AbortError"));
    cell.forceTimer = setTimeout(() => {
      if (this.running === cell) void this.executor?.then((e) => e.forceInterrupt());
    }, this.graceMs);
  }

  // ── introspection ──────────────────────────────────────────────────────────

  private async complete(content: Record<string, unknown>): Promise<Record<string, unknown>> {
    const code = String(content.code ?? "");
    const cursorPos = typeof content.cursor_pos === "number" ? content.cursor_pos : [...code].length;
    const cursor = codePointToUtf16(code, cursorPos);
    try {
      const result = (await this.ensureExecutor()).complete(code, cursor);
      return {
        status: "ok",
        matches: result.matches,
        cursor_start: utf16ToCodePoint(code, result.start),
        cursor_end: utf16ToCodePoint(code, result.end),
        metadata: {},
      };
    } catch (e) {
      this.log(`completion failed: ${(e as Error).message}`);
      return { status: "ok", matches: [], cursor_start: cursorPos, cursor_end: cursorPos, metadata: {} };
    }
  }

  private async inspect(content: Record<string, unknown>): Promise<Record<string, unknown>> {
    const code = String(content.code ?? "");
    const cursorPos = typeof content.cursor_pos === "number" ? content.cursor_pos : [...code].length;
    // Inspect the identifier the cursor is in or just after.
    let cursor = codePointToUtf16(code, cursorPos);
    if (cursor > 0 && !/[\w$]/.test(code[cursor] ?? "")) cursor--;
    const info = (await this.ensureExecutor()).inspect(code, cursor);
    if (!info) return { status: "ok", found: false, data: {}, metadata: {} };
    const text = quickInfoText(info);
    return { status: "ok", found: true, data: { "text/plain": text, "text/markdown": "```typescript\n" + text + "\n```" }, metadata: {} };
  }

  private async page(expression: string): Promise<{ found: boolean; data: Record<string, string> }> {
    const info = (await this.ensureExecutor()).inspect(expression, expression.length - 1);
    if (!info) return { found: false, data: {} };
    return { found: true, data: { "text/plain": quickInfoText(info) } };
  }

  // ── shutdown ───────────────────────────────────────────────────────────────

  /** The supervisor answered shutdown_request: close and exit. */
  private async shutdown(): Promise<void> {
    this.interrupt();
    this.shuttingDown = true;
    try {
      await this.close();
    } finally {
      (this.options.onShutdown ?? (() => this.exit(0)))();
    }
  }

  async close(): Promise<void> {
    await this.channels.close();
    this.history.close();
    if (this.executor) await this.executor.then((e) => e.close(), () => undefined);
    else if (this.checker) await this.checker.converter.then((c) => c.close(), () => undefined);
    this.capture.restore();
  }
}
