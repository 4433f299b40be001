/**
 * The kernel: dispatches shell and control messages. Shell requests run one at a time in
 * arrival order (a cell must finish before the next starts); control requests (interrupt,
 * shutdown) are served at once, even while a cell runs.
 */
import { setAmbientHooks } from "../../forge/api/ambient.js";
import { buildTypeSurfaceInBackground, CellExecutor, checkCompleteness, codePointToUtf16, interruptedError, pagerTarget, preloadModules, quickInfoText, startCellChecker, utf16ToCodePoint, type CellChecker, type CellError, type CellOutcome } from "../cells/index.js";
import { HistoryStore, type HistoryQuery } from "../history/index.js";
import { captureStreams, CellOutput, installDisplayGlobals, ProgressDisplay, textPlain, type StreamCapture, type SvgRenderer } from "../output/index.js";
import { KernelChannels, type ConnectionInfo, type IncomingChannel, type JupyterMessage } from "../protocol/index.js";
import { randomUUID } from "node:crypto";
import { kernelInfo } from "./kernel-info.js";
import { registerTsx } from "../bundled.js";

export interface KernelOptions {
  /** SQLite file for history (default: FORGE_KERNEL_HISTORY or ~/.local/share/forge-kernel/history.sqlite). */
  historyPath?: string;
  /** How long an interrupted cell may take to stop by itself (honouring its AbortSignal) before it is cut off. */
  interruptGraceMs?: number;
  /** The cell type checker, when started before the kernel (main.ts does, first thing); else the kernel starts it. */
  checker?: CellChecker;
  /** Called when the kernel has shut down (default: exit the process). */
  onShutdown?: (restart: boolean) => void;
}

const PREPARE_DELAY_MS = 300;
/** FORGE_KERNEL_TIMING=1 logs how long the start's stages took (to stderr). */
const timing = process.env.FORGE_KERNEL_TIMING === "1";

interface RunningCell {
  controller: AbortController;
  startedAt: number;
  forceTimer: NodeJS.Timeout | null;
}

type ExecuteContent = { code?: unknown; silent?: unknown; store_history?: unknown; stop_on_error?: unknown };

export class Kernel {
  private readonly channels: KernelChannels;
  private readonly history: HistoryStore;
  private readonly capture: StreamCapture;
  private readonly graceMs: number;
  private executor: Promise<CellExecutor> | null = null;
  private preloadFailures: string[] = [];
  private executionCount = 0;
  /** Where stray output (streams, late displays, late rejections) goes: the running or last cell. */
  private currentOutput: CellOutput;
  private running: RunningCell | null = null;
  private shellQueue: Promise<void> = Promise.resolve();
  /** Shell messages received so far, and the last one to abort after a failed cell (stop_on_error). */
  private received = 0;
  private abortThrough = 0;
  private shuttingDown = false;

  constructor(
    info: ConnectionInfo,
    private readonly options: KernelOptions = {},
  ) {
    this.capture = captureStreams((name, text) => this.currentOutput.stream(name, text));
    this.channels = new KernelChannels(info, randomUUID(), (text) => this.log(text));
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
    // type surface): start it first. It runs on another core, beside the handshake.
    this.startChecker();
    await this.channels.bind();
    this.channels.listen((channel, message) => this.receive(channel, message));
    void this.channels.publish("status", { execution_state: "starting" }, null);
    // Note: a SIGINT that arrives while a cell is being type-checked (a synchronous step) is
    // dropped by Node when tslab starts the cell with vm's breakOnSigint; once the cell runs
    // (awaiting, or in a synchronous loop) SIGINT stops it.
    process.on("SIGINT", () => this.interrupt());
    // A promise rejected after its cell finished must not take the kernel down: report it where the output is.
    process.on("unhandledRejection", (reason) => this.reportStray("Unhandled promise rejection", reason));
    process.on("uncaughtException", (error) => this.reportStray("Uncaught exception", error));
    // Importing forge/viz/datasets blocks this thread for a while: start it once the client's
    // first kernel_info is answered — or after a short quiet spell — so the handshake is not kept waiting.
    this.prepareTimer = setTimeout(() => this.ensureExecutor(), PREPARE_DELAY_MS);
  }

  private prepareTimer: NodeJS.Timeout | null = null;

  /** The cell executor, prepared on first call. */
  private ensureExecutor(): Promise<CellExecutor> {
    if (this.prepareTimer) clearTimeout(this.prepareTimer);
    if (!this.executor) {
      this.executor = this.prepareExecutor();
      this.executor.catch((e: Error) => this.log(`cannot start the cell executor: ${e.stack}`));
    }
    return this.executor;
  }

  private checker: CellChecker | null = null;

  /** Time since the process started (performance.now() counts from there), for the timing log. */
  private sinceStart(): string {
    return `${performance.now().toFixed(0)} ms`;
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
    // tslab's executor loads TypeScript on this thread too: now, while the checker is still being built.
    CellExecutor.loadTslab();
    const executor = new CellExecutor(undefined, { converter: await checker.converter });
    // After this start, which they would slow down: tsx's hooks for cells that import .ts files
    // (when running from the bundle), and for the next start the type surface, if it was missing.
    setTimeout(() => {
      void registerTsx().catch((e: Error) => this.log(`cannot register tsx (.ts files cannot be imported): ${e.message}`));
      if (checker.surfaceMissing) buildTypeSurfaceInBackground();
    }, 0);
    return executor;
  }

  private reportStray(what: string, reason: unknown): void {
    const text = reason instanceof Error ? (reason.stack ?? reason.message) : textPlain(reason);
    this.currentOutput.stream("stderr", `${what} (not fatal; from a cell that already finished or a background task):\n${text}\n`);
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
    const seq = ++this.received;
    this.shellQueue = this.shellQueue.then(() => this.handle("shell", message, seq));
  }

  private async handle(channel: IncomingChannel, message: JupyterMessage, seq = 0): Promise<void> {
    if (this.shuttingDown) return;
    await this.channels.publish("status", { execution_state: "busy" }, message.header);
    try {
      await this.dispatch(channel, message, seq);
    } catch (e) {
      this.log(`${message.header.msg_type} failed: ${(e as Error).stack}`);
    }
    await this.channels.publish("status", { execution_state: "idle" }, message.header);
  }

  private async dispatch(channel: IncomingChannel, msg: JupyterMessage, seq: number): Promise<void> {
    const reply = (type: string, content: unknown) => this.channels.reply(channel, msg, type, content);
    switch (msg.header.msg_type) {
      case "kernel_info_request":
        await reply("kernel_info_reply", kernelInfo());
        if (timing && !this.executor) this.log(`kernel_info answered ${this.sinceStart()} after the process started`);
        setImmediate(() => void this.ensureExecutor());
        return;
      case "execute_request":
        return this.execute(channel, msg, seq);
      case "complete_request":
        return reply("complete_reply", await this.complete(msg.content));
      case "inspect_request":
        return reply("inspect_reply", await this.inspect(msg.content));
      case "is_complete_request":
        return reply("is_complete_reply", checkCompleteness(String(msg.content.code ?? "")));
      case "history_request":
        return reply("history_reply", { status: "ok", history: this.history.query(msg.content as unknown as HistoryQuery) });
      case "comm_info_request":
        return reply("comm_info_reply", { status: "ok", comms: {} });
      case "interrupt_request":
        this.interrupt();
        return reply("interrupt_reply", { status: "ok" });
      case "shutdown_request":
        return this.shutdown(channel, msg);
      case "comm_open":
      case "comm_msg":
      case "comm_close":
        return; // no comm targets: nothing to answer
      default:
        this.log(`unknown message type ${JSON.stringify(msg.header.msg_type)} on ${channel} ignored`);
    }
  }

  // ── execute ────────────────────────────────────────────────────────────────

  private async execute(channel: IncomingChannel, msg: JupyterMessage, seq: number): Promise<void> {
    const content = msg.content as ExecuteContent;
    const code = typeof content.code === "string" ? content.code : "";
    const silent = content.silent === true;
    const storeHistory = !silent && content.store_history !== false;
    const stopOnError = content.stop_on_error !== false;

    if (seq !== 0 && seq <= this.abortThrough) {
      // Queued behind a cell that failed with stop_on_error: skipped, and said so.
      const output = this.outputFor(msg);
      output.stream("stderr", "Not run: an earlier cell failed and the request asked to stop on error.\n");
      await this.channels.reply(channel, msg, "execute_reply", { status: "aborted", execution_count: this.executionCount });
      return;
    }

    if (storeHistory) this.executionCount++;
    const count = this.executionCount;
    const output = this.outputFor(msg);
    this.currentOutput = output;
    if (!silent) await this.channels.publish("execute_input", { code, execution_count: count }, msg.header);
    if (storeHistory) this.history.record(count, code);

    let payload: unknown[] = [];
    let outcome: CellOutcome;
    const target = pagerTarget(code);
    if (target !== null) {
      const page = await this.page(target);
      outcome = page.found ? { status: "ok", hasValue: false, value: undefined } : { status: "error", error: { ename: "NotFound", evalue: `nothing known about ${target}`, traceback: [`NotFound: nothing known about ${target}`] } };
      if (page.found) payload = [{ source: "page", data: page.data, start: 0 }];
    } else {
      outcome = await this.runCell(code, output);
    }

    if (outcome.status === "ok" && outcome.hasValue && !silent && outcome.value !== undefined) {
      try {
        await output.result(outcome.value, count);
        if (storeHistory) this.history.recordOutput(count, textPlain(outcome.value));
      } catch (e) {
        outcome = { status: "error", error: { ename: "DisplayError", evalue: (e as Error).message, traceback: [`DisplayError: showing the result failed: ${(e as Error).message}`] } };
      }
    }
    const interruption = this.lastInterruption;
    this.lastInterruption = null;
    if (interruption) outcome = { status: "error", error: this.describeInterruption(outcome, interruption) };

    if (outcome.status === "error") {
      await this.channels.publish("error", { ...outcome.error }, msg.header);
      await this.channels.reply(channel, msg, "execute_reply", { status: "error", execution_count: count, ...outcome.error });
      if (stopOnError) this.abortThrough = this.received;
      return;
    }
    await this.channels.reply(channel, msg, "execute_reply", { status: "ok", execution_count: count, payload, user_expressions: {} });
  }

  private lastInterruption: { afterMs: number } | null = null;

  private async runCell(code: string, output: CellOutput): Promise<CellOutcome> {
    // Running from the moment the request is taken: an interrupt while the executor is still
    // being prepared or the cell type-checked counts too.
    const cell: RunningCell = { controller: new AbortController(), startedAt: performance.now(), forceTimer: null };
    this.running = cell;
    let outcome: CellOutcome;
    try {
      const executor = await this.ensureExecutor();
      if (this.preloadFailures.length > 0) {
        output.stream("stderr", this.preloadFailures.map((f) => `warning: ${f}\n`).join(""));
        this.preloadFailures = [];
      }
      const progress = new ProgressDisplay(() => output);
      setAmbientHooks({ signal: () => cell.controller.signal, progress: () => progress.listener });
      outcome = cell.controller.signal.aborted
        ? { status: "error", error: interruptedError("the cell was interrupted before it started") }
        : await executor.run(code);
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

  /** interrupt_request or SIGINT: abort the running cell's signal; cut it off if it ignores it. */
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

  private async shutdown(channel: IncomingChannel, msg: JupyterMessage): Promise<void> {
    const restart = msg.content.restart === true;
    this.interrupt();
    await this.channels.reply(channel, msg, "shutdown_reply", { status: "ok", restart });
    await this.channels.publish("shutdown_reply", { status: "ok", restart }, msg.header);
    this.shuttingDown = true;
    await this.close();
    (this.options.onShutdown ?? (() => process.exit(0)))(restart);
  }

  async close(): Promise<void> {
    await this.channels.close();
    this.history.close();
    if (this.prepareTimer) clearTimeout(this.prepareTimer);
    if (this.executor) await this.executor.then((e) => e.close(), () => undefined);
    else if (this.checker) await this.checker.converter.then((c) => c.close(), () => undefined);
    this.capture.restore();
  }
}
