/**
 * The kernel's supervisor: the process Jupyter starts. It owns the zeromq sockets and the
 * heartbeat, and stays small; cells run in a cell process (kernel.ts, started by
 * cell-process.ts) that it can interrupt, kill and replace. So every request gets a reply, and
 * no cell wedges the kernel or kills it silently:
 *
 * - kernel_info, interrupt and shutdown are answered here, at once, whatever the cells do.
 * - Shell requests go to the cell process one at a time, in arrival order; the next one when
 *   the last is done. A cell that failed with stop_on_error aborts the execute requests received
 *   before its error reply went out (the mark is set before the reply is sent: no race).
 * - interrupt_request: the cell process is told which cell to interrupt (its AbortSignal, and a
 *   cut-off if it ignores it); a cell running synchronous code also gets a SIGINT, which breaks
 *   it (vm's breakOnSigint), as the signal did. A cell process that does not respond — a loop of
 *   promises, or of timers, holds its thread — is killed and replaced: the cell's reply says so.
 * - A cell process that dies (process.kill, process.abort, heap exhaustion, a native crash) is
 *   replaced; the request it was serving gets an error reply naming the cause, and the front-end
 *   is told on iopub that the state was lost.
 */
import { KernelChannels, type ConnectionInfo, type IncomingChannel, type JupyterMessage, type MessageHeader } from "../protocol/index.js";
import { randomUUID } from "node:crypto";
import { CellProcess, type CellProcessExit, type EarlyCellProcess } from "./cell-process.js";
import type { FromCellProcess, ForwardedRequest } from "./ipc.js";
import { kernelInfo } from "./kernel-info.js";

const RED = "\x1b[31m";
const RESET = "\x1b[0m";

/**
 * How long the cell process may take to acknowledge an interrupt before its cell gets a SIGINT.
 * Only then: a SIGINT is sent only to code that holds the thread, never to a responsive process
 * (Node restores SIGINT's default action for a moment around each cell's vm run).
 */
const ACK_MS = 150;
/** How long an unresponsive cell process is given, after an interrupt, before it is replaced (FORGE_KERNEL_UNRESPONSIVE_MS). */
const UNRESPONSIVE_MS = Number(process.env.FORGE_KERNEL_UNRESPONSIVE_MS ?? 1000);
/** The same while it is still starting (importing forge/viz/datasets, building the checker). */
const STARTING_UNRESPONSIVE_MS = 30_000;
/** An interrupted cell that acknowledged but still has not finished after this long is cut off by replacing the process. */
const INTERRUPT_BACKSTOP_MS = 4000;
/** A cell process that dies this many times in a row before it is ready is not started again. */
const MAX_FAILED_STARTS = 3;

/**
 * What a cell that waits for the cell process's start shows (the kernel answers kernel_info,
 * and Lab shows "Idle", seconds before forge/viz/datasets and the type checker are ready).
 */
export function loadingText(waitedMs: number): string {
  const waited = Math.floor(waitedMs / 1000);
  return `Loading the workbench (forge, viz, datasets and the type checker)…${waited >= 1 ? ` ${waited} s` : ""}\nA new kernel's first cell waits for it; later cells run at once.`;
}

/** FORGE_KERNEL_TIMING=1 logs how long the start's stages took (to stderr). */
const timing = process.env.FORGE_KERNEL_TIMING === "1";

const STATE_LOST = "variables, functions and imports from earlier cells are lost";

interface Request {
  channel: "shell" | "control";
  message: JupyterMessage;
  /** Arrival number of shell requests (0 on control). */
  seq: number;
  replied: boolean;
}

interface Interruption {
  target: string;
  sentAt: number;
  acked: boolean;
  signalled: boolean;
  timers: NodeJS.Timeout[];
}

/** Why the supervisor killed the cell process (its replies say so). */
interface KillReason {
  ename: string;
  evalue: string;
  /** In a few words, for the news on iopub. */
  cause: string;
}

export class Supervisor {
  private readonly channels: KernelChannels;
  private cells: CellProcess;
  /** Shell requests not yet handed to the cell process. */
  private readonly queue: Request[] = [];
  /** The shell request the cell process is serving. */
  private current: Request | null = null;
  /** Every request the cell process is serving (the current shell one, control ones), by msg_id. */
  private readonly serving = new Map<string, Request>();
  private received = 0;
  /** Execute requests up to this arrival number are aborted (a cell failed with stop_on_error). */
  private abortThrough = 0;
  private executionCount = 0;
  /** What the current shell request's cell is doing (the cell process says). */
  private phase: "checking" | "running" | null = null;
  private interruption: Interruption | null = null;
  private killReason: KillReason | null = null;
  /** The last execute_request: where news of a restart goes when no request is being served. */
  private lastExecute: MessageHeader | null = null;
  private failedStarts = 0;
  private broken: string | null = null;
  private pingId = 0;
  private shuttingDown = false;
  private answeredKernelInfo = false;
  /** A replacement cell process is starting (announced with a "starting" status). */
  private restarting = false;
  /** The loading notice shown in a cell that waits for the cell process's start (cleared once it is ready). */
  private loading: { parent: MessageHeader; timer: NodeJS.Timeout } | null = null;

  /** `first`: the cell process main.ts started before loading zeromq (earlyCellProcess), else one is started now. */
  constructor(info: ConnectionInfo, first?: EarlyCellProcess) {
    this.channels = new KernelChannels(info, randomUUID(), (text) => this.log(text));
    if (first) {
      this.cells = first.cells;
      this.watch(first.cells);
      first.attach((cells, m) => this.onCellMessage(cells, m));
    } else {
      this.cells = this.startCells();
    }
  }

  log(text: string): void {
    process.stderr.write(`[forge-kernel] ${text}\n`);
  }

  async start(): Promise<void> {
    await this.channels.bind();
    this.channels.listen((channel, message) => this.receive(channel, message));
    void this.channels.publish("status", { execution_state: "starting" }, null);
    process.on("SIGINT", () => this.interrupt(null));
    // Jupyter (or anyone) ending the kernel: the cell process goes too.
    for (const signal of ["SIGTERM", "SIGHUP"] as const) {
      process.on(signal, () => {
        this.cells.signal("SIGKILL");
        process.exit(0);
      });
    }
    process.on("exit", () => this.cells.signal("SIGKILL"));
  }

  private startCells(): CellProcess {
    const cells: CellProcess = new CellProcess((m) => this.onCellMessage(cells, m));
    this.watch(cells);
    return cells;
  }

  private watch(cells: CellProcess): void {
    void cells.exited.then((exit) => this.onCellExit(cells, exit));
  }

  // ── requests ────────────────────────────────────────────────────────────────

  private receive(channel: IncomingChannel, message: JupyterMessage): void {
    if (channel === "stdin" || this.shuttingDown) return;
    const type = message.header.msg_type;
    if (type === "kernel_info_request") {
      if (timing && !this.answeredKernelInfo) this.log(`kernel_info answered ${performance.now().toFixed(0)} ms after the process started`);
      this.answeredKernelInfo = true;
      return this.answer(channel, message, "kernel_info_reply", kernelInfo());
    }
    if (channel === "control") {
      if (type === "interrupt_request") {
        this.interrupt(message.header);
        return this.answer(channel, message, "interrupt_reply", { status: "ok" });
      }
      if (type === "shutdown_request") return void this.shutdown(channel, message);
      return this.forward({ channel, message, seq: 0, replied: false });
    }
    this.queue.push({ channel: "shell", message, seq: ++this.received, replied: false });
    this.pump();
  }

  /** Answer here: busy, the reply, idle. */
  private answer(channel: IncomingChannel, message: JupyterMessage, msgType: string, content: unknown, before?: () => void): void {
    void this.channels.publish("status", { execution_state: "busy" }, message.header);
    before?.();
    void this.channels.reply(channel, message, msgType, content);
    void this.channels.publish("status", { execution_state: "idle" }, message.header);
  }

  /** Hand the next shell request to the cell process, once the last one is done. */
  private pump(): void {
    while (this.current === null && this.queue.length > 0) {
      const request = this.queue.shift()!;
      const { message } = request;
      if (message.header.msg_type === "execute_request" && request.seq <= this.abortThrough) {
        // Queued behind a cell that failed with stop_on_error: skipped, and said so.
        this.answer("shell", message, "execute_reply", { status: "aborted", execution_count: this.executionCount }, () =>
          void this.channels.publish("stream", { name: "stderr", text: "Not run: an earlier cell failed and the request asked to stop on error.\n" }, message.header),
        );
        continue;
      }
      if (this.broken !== null) {
        this.answer("shell", message, replyType(message.header.msg_type) ?? "error", errorContent("KernelError", this.broken, this.executionCount), () => this.publishError(message, "KernelError", this.broken!));
        continue;
      }
      this.current = request;
      this.phase = null;
      this.forward(request);
    }
  }

  private forward(request: Request): void {
    const busyPublished = request.channel === "shell" && this.showLoading(request.message);
    this.serving.set(request.message.header.msg_id, request);
    if (request.message.header.msg_type === "execute_request") this.lastExecute = request.message.header;
    const { header, parent_header, metadata, content } = request.message;
    const message: ForwardedRequest = { header, parent_header, metadata, content };
    this.cells.send({ t: "request", channel: request.channel, message, ...(busyPublished ? { busyPublished } : {}) });
  }

  // ── the cell process's messages ────────────────────────────────────────────

  private onCellMessage(from: CellProcess, m: FromCellProcess): void {
    if (from !== this.cells) return; // a replaced process's last words
    switch (m.t) {
      case "reply": {
        const request = this.serving.get(m.id);
        if (!request) return this.log(`reply to a request not being served (${m.msgType}) dropped`);
        const content = m.content as { status?: string; execution_count?: number };
        if (m.msgType === "execute_reply") {
          if (typeof content.execution_count === "number") this.executionCount = content.execution_count;
          // Before the reply goes out: a request the client sends once it has the error reply is never aborted.
          const stopOnError = (request.message.content as { stop_on_error?: unknown }).stop_on_error !== false;
          if (content.status === "error" && stopOnError && request.seq > 0) this.abortThrough = this.received;
        }
        request.replied = true;
        void this.channels.reply(request.channel, request.message, m.msgType, m.content, m.metadata);
        return;
      }
      case "publish":
        void this.channels.publish(m.msgType, m.content, m.parent, m.metadata);
        return;
      case "done": {
        if (this.loading?.parent.msg_id === m.id) this.endLoading();
        this.serving.delete(m.id);
        if (this.current?.message.header.msg_id === m.id) {
          this.current = null;
          this.phase = null;
          this.endInterruption();
          this.pump();
        }
        return;
      }
      case "phase":
        if (this.current?.message.header.msg_id !== m.id) return;
        this.phase = m.phase;
        // An interrupt that came while the cell was being type-checked: its code runs now.
        if (m.phase === "running" && this.interruption?.target === m.id && !this.interruption.acked) this.armSignal(this.interruption);
        return;
      case "ack":
        if (this.interruption?.target === m.target) this.interruption.acked = true;
        return;
      case "prepared":
        this.endLoading();
        this.failedStarts = 0;
        // After a restart ("starting" was published): the new cell process is ready.
        if (this.restarting) void this.channels.publish("status", { execution_state: "idle" }, null);
        this.restarting = false;
        return;
      case "pong":
        if (m.id === this.pingId) this.pingId++; // answered
        return;
      case "hello":
        return;
    }
  }

  // ── the first cell's loading notice ────────────────────────────────────────

  /**
   * An execute request handed over while the cell process is still starting: its cell shows
   * "Loading the workbench… N s" at once (updated every second), and clear_output once the cell
   * process is ready — before any of the cell's own output, which comes after "prepared" on the
   * same channel — so a saved notebook keeps none of it. Said here, not by the cell process,
   * whose thread the imports hold for seconds at a time. Not for silent requests (a front-end
   * extension's), which show nothing. The request's busy status goes first, from here (clients
   * expect busy before any output, and once): true when it was sent, and the cell process
   * then sends none.
   */
  private showLoading(message: JupyterMessage): boolean {
    if (this.cells.prepared || this.loading !== null || this.broken !== null) return false;
    if (message.header.msg_type !== "execute_request" || (message.content as { silent?: unknown }).silent === true) return false;
    const since = performance.now();
    const displayId = `forge-loading-${randomUUID()}`;
    const send = (msgType: "display_data" | "update_display_data"): void => {
      const text = loadingText(performance.now() - since);
      const html = `<div style="font-family:monospace;white-space:pre-wrap;opacity:0.75">${text.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</div>`;
      void this.channels.publish(msgType, { data: { "text/plain": text, "text/html": html }, metadata: {}, transient: { display_id: displayId } }, message.header);
    };
    void this.channels.publish("status", { execution_state: "busy" }, message.header);
    send("display_data");
    this.loading = { parent: message.header, timer: setInterval(() => send("update_display_data"), 1000) };
    return true;
  }

  private endLoading(): void {
    if (this.loading === null) return;
    clearInterval(this.loading.timer);
    void this.channels.publish("clear_output", { wait: false }, this.loading.parent);
    this.loading = null;
  }

  // ── interrupt ──────────────────────────────────────────────────────────────

  /**
   * interrupt_request or SIGINT. The cell process is told which cell (so an interrupt never
   * reaches the next one); synchronous code gets a SIGINT; a process that does not respond is
   * replaced. With no request being served, a process that does not answer a ping (a timer's
   * loop holds it) is replaced too.
   */
  interrupt(by: MessageHeader | null): void {
    const request = this.current;
    if (request === null) return this.checkResponsive(by);
    const target = request.message.header.msg_id;
    if (this.interruption?.target === target) return; // under way
    this.endInterruption();
    const interruption: Interruption = { target, sentAt: performance.now(), acked: false, signalled: false, timers: [] };
    this.interruption = interruption;
    this.cells.send({ t: "interrupt", target });
    this.armSignal(interruption);
    const cells = this.cells;
    const backstop = (): void => {
      if (this.interruption !== interruption) return;
      if (this.phase === "checking") return void interruption.timers.push(setTimeout(backstop, 1000)); // its code has not run yet
      this.replaceCells(cells, {
        ename: "Interrupted",
        evalue: `cell interrupted ${seconds(performance.now() - interruption.sentAt)} ago; it did not finish, so the kernel restarted its cell process: ${STATE_LOST}`,
        cause: "an interrupted cell did not finish",
      });
    };
    interruption.timers.push(setTimeout(backstop, INTERRUPT_BACKSTOP_MS + (cells.prepared ? 0 : STARTING_UNRESPONSIVE_MS)));
  }

  /**
   * A cell process that has not acknowledged the interrupt after ACK_MS is held by the cell:
   * synchronous code gets a SIGINT (vm's breakOnSigint stops it, state kept); a process that
   * still does not answer (a loop of promises, or of timers) is replaced. Not while the cell is
   * being type-checked (the thread waits for the checker): re-armed when its code runs.
   */
  private armSignal(interruption: Interruption): void {
    const cells = this.cells;
    interruption.timers.push(
      setTimeout(() => {
        if (this.interruption !== interruption || interruption.acked || this.phase === "checking") return;
        if (this.phase === "running") this.signalCell(interruption);
        interruption.timers.push(
          setTimeout(() => {
            if (this.interruption !== interruption || interruption.acked || this.phase === "checking") return;
            this.replaceCells(cells, {
              ename: "Interrupted",
              evalue: `cell interrupted after ${seconds(performance.now() - interruption.sentAt)}; it did not stop (a loop of promises or timers holds the kernel's thread), so the kernel restarted its cell process: ${STATE_LOST}`,
              cause: "an interrupted cell did not stop",
            });
          }, UNRESPONSIVE_MS + (cells.prepared ? 0 : STARTING_UNRESPONSIVE_MS)),
        );
      }, ACK_MS),
    );
  }

  private signalCell(interruption: Interruption): void {
    if (interruption.signalled) return;
    interruption.signalled = true;
    this.cells.signal("SIGINT");
  }

  private endInterruption(): void {
    for (const timer of this.interruption?.timers ?? []) clearTimeout(timer);
    this.interruption = null;
  }

  /** No request being served: does the cell process still answer? If not, it is replaced. */
  private checkResponsive(by: MessageHeader | null): void {
    const cells = this.cells;
    if (!cells.prepared || !cells.alive) return;
    const id = ++this.pingId;
    cells.send({ t: "ping", id });
    setTimeout(() => {
      if (this.pingId !== id || this.cells !== cells || this.current !== null) return; // answered, replaced, or busy again
      this.replaceCells(cells, { ename: "Interrupted", evalue: `the kernel's thread was held by code running outside a cell (a timer's or a promise's loop); the kernel restarted its cell process: ${STATE_LOST}`, cause: "code outside a cell held its thread" }, by);
    }, UNRESPONSIVE_MS);
  }

  // ── replacing the cell process ─────────────────────────────────────────────

  private newsParent: MessageHeader | null = null;

  /** Kill the cell process on purpose; its replacement is started when it is gone (onCellExit). */
  private replaceCells(cells: CellProcess, reason: KillReason, newsParent: MessageHeader | null = null): void {
    if (cells !== this.cells || !cells.alive) return;
    this.killReason = reason;
    this.newsParent = newsParent;
    this.log(`replacing the cell process: ${reason.evalue}`);
    cells.signal("SIGKILL");
  }

  private onCellExit(cells: CellProcess, exit: CellProcessExit): void {
    if (cells !== this.cells || this.shuttingDown) return;
    const reason = this.killReason ?? describeExit(exit, cells.heapLimitMb);
    const newsParent = this.newsParent;
    this.killReason = null;
    this.newsParent = null;
    this.endInterruption();
    this.endLoading();
    if (!cells.prepared) this.failedStarts++;
    this.log(`the cell process ended (${exit.signal ?? `code ${exit.code}`}): ${reason.evalue}`);

    const news = `[forge-kernel] The kernel restarted its cell process (${reason.cause}): ${STATE_LOST}.\n`;
    const affected = [...this.serving.values()];
    this.serving.clear();
    this.current = null;
    this.phase = null;
    for (const request of affected) {
      const { message } = request;
      void this.channels.publish("stream", { name: "stderr", text: news }, message.header);
      if (!request.replied) {
        const type = replyType(message.header.msg_type);
        if (message.header.msg_type === "execute_request") {
          this.publishError(message, reason.ename, reason.evalue);
          const stopOnError = (message.content as { stop_on_error?: unknown }).stop_on_error !== false;
          if (stopOnError && request.seq > 0) this.abortThrough = this.received;
        }
        if (type) void this.channels.reply(request.channel, message, type, errorContent(reason.ename, reason.evalue, this.executionCount));
      }
      void this.channels.publish("status", { execution_state: "idle" }, message.header);
    }
    if (affected.length === 0) void this.channels.publish("stream", { name: "stderr", text: news }, newsParent ?? this.lastExecute);

    if (this.failedStarts >= MAX_FAILED_STARTS) {
      this.broken = `the kernel's cell process failed to start ${this.failedStarts} times (${reason.evalue}); see the kernel's log, then restart the kernel`;
      this.log(this.broken);
    } else {
      void this.channels.publish("status", { execution_state: "starting" }, null);
      this.restarting = true;
      this.cells = this.startCells();
    }
    this.pump();
  }

  private publishError(message: JupyterMessage, ename: string, evalue: string): void {
    void this.channels.publish("error", { ename, evalue, traceback: [`${RED}${ename}${RESET}: ${evalue}`] }, message.header);
  }

  // ── shutdown ───────────────────────────────────────────────────────────────

  private async shutdown(channel: IncomingChannel, message: JupyterMessage): Promise<void> {
    const restart = message.content.restart === true;
    this.shuttingDown = true;
    this.endInterruption();
    if (this.loading) clearInterval(this.loading.timer);
    this.answer(channel, message, "shutdown_reply", { status: "ok", restart }, () => void this.channels.publish("shutdown_reply", { status: "ok", restart }, message.header));
    const cells = this.cells;
    cells.send({ t: "shutdown" });
    const timer = setTimeout(() => cells.signal("SIGKILL"), 2000);
    await cells.exited;
    clearTimeout(timer);
    await this.channels.close();
    process.exit(0);
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The reply type of a request type ("complete_request" → "complete_reply"), or null for messages without one. */
function replyType(requestType: string): string | null {
  return requestType.endsWith("_request") ? requestType.replace(/_request$/, "_reply") : null;
}

function errorContent(ename: string, evalue: string, executionCount: number): Record<string, unknown> {
  return { status: "error", ename, evalue, traceback: [`${RED}${ename}${RESET}: ${evalue}`], execution_count: executionCount };
}

/** Why the cell process died, from its exit and the end of its stderr. */
export function describeExit(exit: CellProcessExit, heapLimitMb: number): KillReason {
  const lost = `the kernel restarted its cell process: ${STATE_LOST}`;
  if (/heap out of memory|Reached heap limit|Allocation failed/i.test(exit.stderrTail)) {
    const limit = heapLimitMb > 0 ? ` (JavaScript heap limit ${heapLimitMb} MB; --max-old-space-size in NODE_OPTIONS raises it)` : "";
    return { ename: "KernelRestarted", evalue: `the cell ran out of memory${limit}; ${lost}`, cause: "out of memory" };
  }
  if (exit.signal === "SIGABRT") return { ename: "KernelRestarted", evalue: `the cell process aborted (process.abort() or a native crash); ${lost}`, cause: "it aborted" };
  if (exit.signal) return { ename: "KernelRestarted", evalue: `the cell process was killed by ${exit.signal}; ${lost}`, cause: `killed by ${exit.signal}` };
  return { ename: "KernelRestarted", evalue: `the cell process exited with code ${exit.code}; ${lost}`, cause: `it exited with code ${exit.code}` };
}
