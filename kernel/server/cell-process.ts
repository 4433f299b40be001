/**
 * The cell process, as the supervisor sees it: started as `node <execArgv> kernel/launch.mjs
 * --cell-process` (from the bundle or through tsx, as the supervisor itself runs), with an IPC
 * channel; its stdout and stderr go to the kernel's stderr (the log), and the end of its stderr
 * is kept to say why it died (V8's "heap out of memory").
 *
 * No zeromq here: kernel/main.ts starts the cell process before the supervisor loads the rest.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CELL_PROCESS_FLAG, type FromCellProcess, type ToCellProcess } from "./ipc.js";

/** kernel/launch.mjs (this file is kernel/server/cell-process.ts; the bundle keeps its URL). */
const LAUNCH = join(dirname(fileURLToPath(import.meta.url)), "..", "launch.mjs");
const STDERR_TAIL = 16_384;

export interface CellProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last part of what it wrote on stderr. */
  stderrTail: string;
}

export class CellProcess {
  readonly child: ChildProcess;
  /** Resolves once the process is gone and its stderr read. */
  readonly exited: Promise<CellProcessExit>;
  /** Sent hello (listening). */
  listening = false;
  /** Sent prepared (forge/viz/datasets imported, checker ready). */
  prepared = false;
  heapLimitMb = 0;
  private readonly held: ToCellProcess[] = [];
  private stderrTail = "";
  private gone = false;

  constructor(onMessage: (message: FromCellProcess) => void) {
    this.child = spawn(process.execPath, [...process.execArgv, LAUNCH, CELL_PROCESS_FLAG], {
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      // Its timing log counts from the supervisor's start (kernelOrigin).
      env: { ...process.env, FORGE_KERNEL_ORIGIN: String(performance.timeOrigin) },
    });
    this.child.stdout!.on("data", (d: Buffer) => process.stderr.write(d));
    this.child.stderr!.on("data", (d: Buffer) => {
      process.stderr.write(d);
      this.stderrTail = (this.stderrTail + d.toString()).slice(-STDERR_TAIL);
    });
    this.child.on("message", (message: FromCellProcess) => {
      if (message.t === "hello") {
        this.listening = true;
        for (const m of this.held.splice(0)) this.send(m);
      } else if (message.t === "prepared") {
        this.prepared = true;
        this.heapLimitMb = message.heapLimitMb;
      }
      onMessage(message);
    });
    this.child.on("error", (e) => process.stderr.write(`[forge-kernel] cell process: ${e.message}\n`));
    const stderrEnded = new Promise<void>((resolve) => this.child.stderr!.once("close", () => resolve()));
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.gone = true;
        // What it wrote last (V8's out-of-memory report) may still be in the pipe.
        void Promise.race([stderrEnded, new Promise((r) => setTimeout(r, 200))]).then(() => resolve({ code, signal, stderrTail: this.stderrTail }));
      });
    });
  }

  get alive(): boolean {
    return !this.gone;
  }

  /** Send now, or once it listens. */
  send(message: ToCellProcess): void {
    if (this.gone) return;
    if (!this.listening) {
      this.held.push(message);
      return;
    }
    try {
      this.child.send(message);
    } catch (e) {
      process.stderr.write(`[forge-kernel] cannot send to the cell process: ${(e as Error).message}\n`);
    }
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.gone) this.child.kill(signal);
  }
}

/** A cell process started before the supervisor: its messages are held until the supervisor attaches. */
export interface EarlyCellProcess {
  cells: CellProcess;
  attach(onMessage: (cells: CellProcess, message: FromCellProcess) => void): void;
}

/** Start the first cell process now (kernel/main.ts: before zeromq and the supervisor load). */
export function earlyCellProcess(): EarlyCellProcess {
  let target: ((cells: CellProcess, message: FromCellProcess) => void) | null = null;
  const early: FromCellProcess[] = [];
  const cells: CellProcess = new CellProcess((m) => (target ? target(cells, m) : early.push(m)));
  return {
    cells,
    attach: (onMessage) => {
      target = onMessage;
      for (const m of early.splice(0)) onMessage(cells, m);
    },
  };
}
