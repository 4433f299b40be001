/**
 * The kernel runs as two processes (supervisor.ts): the supervisor owns the zeromq sockets and
 * the heartbeat; the cell process (kernel.ts) runs cells. They talk over Node's IPC channel
 * (JSON): the supervisor hands requests to the cell process, which answers with replies and
 * iopub messages that the supervisor signs and sends. What each side sends:
 */
import type { IncomingChannel, MessageListener } from "../protocol/channels.js";
import type { JupyterMessage, MessageHeader } from "../protocol/types.js";

/** A request as the cell process sees it: no routing identities (the supervisor keeps those). */
export type ForwardedRequest = Pick<JupyterMessage, "header" | "parent_header" | "metadata" | "content">;

/** Supervisor → cell process. */
export type ToCellProcess =
  /** `busyPublished`: the supervisor already sent the request's busy status (with the first cell's loading notice). */
  | { t: "request"; channel: "shell" | "control"; message: ForwardedRequest; busyPublished?: boolean }
  /** Interrupt the cell of this execute_request, if it is the one running (or about to run). */
  | { t: "interrupt"; target: string }
  | { t: "ping"; id: number }
  | { t: "shutdown" };

/** What a cell is doing: being type-checked (the thread waits for the checker), or running. */
export type CellPhase = "checking" | "running";

/** Cell process → supervisor. */
export type FromCellProcess =
  /** Listening: requests sent before this are held by the supervisor. */
  | { t: "hello" }
  /** forge/viz/datasets imported and the checker ready: cells run at once from now on. */
  | { t: "prepared"; heapLimitMb: number }
  | { t: "reply"; id: string; msgType: string; content: unknown; metadata: Record<string, unknown> }
  | { t: "publish"; msgType: string; content: unknown; parent: MessageHeader | null; metadata: Record<string, unknown> }
  /** The request is finished (its reply, if any, and its idle status were sent before this). */
  | { t: "done"; id: string }
  | { t: "phase"; id: string; phase: CellPhase }
  /** An interrupt was received; `running`: its target was the running cell. */
  | { t: "ack"; target: string; running: boolean }
  | { t: "pong"; id: number };

/** The flag on the command line that makes kernel/main.ts run as the cell process. */
export const CELL_PROCESS_FLAG = "--cell-process";

/**
 * The cell process's side of the channel: what the kernel (kernel.ts) sends and receives in
 * place of zeromq sockets. Sends are synchronous writes to the pipe, so a message published just
 * before a cell blocks the thread (a synchronous loop) still goes out.
 */
export class CellProcessChannels {
  private closed = false;
  /** Requests whose busy status the supervisor already published (once per request, as clients expect). */
  private readonly busyPublished = new Set<string>();

  constructor(private readonly log: (text: string) => void) {}

  /** Start receiving: requests go to `listener`, the supervisor's own messages to `onSupervisor`. */
  listen(listener: MessageListener, onSupervisor: (message: Exclude<ToCellProcess, { t: "request" }>) => void): void {
    process.on("message", (raw: ToCellProcess) => {
      if (raw.t !== "request") return onSupervisor(raw);
      const message: JupyterMessage = { identities: [], buffers: [], ...raw.message };
      if (raw.busyPublished) this.busyPublished.add(message.header.msg_id);
      try {
        listener(raw.channel as IncomingChannel, message);
      } catch (e) {
        this.log(`handler for ${message.header.msg_type} failed: ${(e as Error).stack}`);
      }
    });
    // The supervisor is gone (killed): nothing can reach the front-end any more.
    process.on("disconnect", () => process.kill(process.pid, "SIGKILL"));
    this.send({ t: "hello" });
  }

  /** Whether the supervisor already published this request's busy status (asked once, as the request starts). */
  takeBusyPublished(msgId: string): boolean {
    return this.busyPublished.delete(msgId);
  }

  send(message: FromCellProcess): void {
    if (this.closed || !process.connected) return;
    try {
      process.send!(message);
    } catch (e) {
      // A value that JSON cannot carry (a BigInt in display data): say so in its place.
      if (message.t === "publish" || message.t === "reply") {
        this.log(`cannot send ${message.msgType}: ${(e as Error).message}`);
        if (message.t === "reply") process.send!({ ...message, content: { status: "error", ename: "KernelError", evalue: `the ${message.msgType} could not be sent: ${(e as Error).message}`, traceback: [] } });
      } else {
        this.log(`cannot send to the supervisor: ${(e as Error).message}`);
      }
    }
  }

  reply(_channel: IncomingChannel, request: JupyterMessage, msgType: string, content: unknown, metadata: Record<string, unknown> = {}): Promise<void> {
    this.send({ t: "reply", id: request.header.msg_id, msgType, content, metadata });
    return Promise.resolve();
  }

  publish(msgType: string, content: unknown, parent: MessageHeader | null, metadata: Record<string, unknown> = {}): Promise<void> {
    this.send({ t: "publish", msgType, content, parent, metadata });
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
