/**
 * The five zeromq sockets of a kernel, bound from a connection file.
 * Incoming shell/control messages are decoded, verified and handed to a listener; messages
 * that fail (bad HMAC, malformed frames) are logged and dropped — the kernel stays up.
 * zeromq allows one `send` in flight per socket, so each socket sends through a serial queue.
 */
import { Publisher, Reply, Router } from "zeromq";
import { channelEndpoint } from "./connection.js";
import { decodeMessage, encodeMessage, makeHeader, MessageSigner, type OutgoingMessage } from "./wire.js";
import type { ChannelName, ConnectionInfo, JupyterMessage, MessageHeader } from "./types.js";

export type IncomingChannel = "shell" | "control" | "stdin";
export type MessageListener = (channel: IncomingChannel, message: JupyterMessage) => void;
export type LogFunction = (text: string) => void;

/** Sends one after another on a socket; a failed send is logged and does not block the rest. */
class SerialSender {
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: { send(frames: (Buffer | string)[]): Promise<void> },
    private readonly log: LogFunction,
  ) {}

  send(frames: (Buffer | string)[]): Promise<void> {
    this.tail = this.tail.then(
      () => this.socket.send(frames).catch((e: Error) => this.log(`send failed: ${e.message}`)),
    );
    return this.tail;
  }

  /** Resolves when every queued send has gone out. */
  drained(): Promise<void> {
    return this.tail;
  }
}

export class KernelChannels {
  readonly session: string;
  private readonly signer: MessageSigner;
  private readonly shell = new Router();
  private readonly control = new Router();
  private readonly stdin = new Router();
  private readonly iopub = new Publisher();
  private readonly hb = new Reply();
  private readonly senders: Record<"shell" | "control" | "stdin" | "iopub", SerialSender>;
  private closed = false;

  constructor(
    private readonly info: ConnectionInfo,
    session: string,
    private readonly log: LogFunction,
  ) {
    this.session = session;
    this.signer = new MessageSigner(info.key, info.signature_scheme);
    for (const socket of [this.shell, this.control, this.stdin, this.iopub, this.hb]) socket.linger = 0;
    this.senders = {
      shell: new SerialSender(this.shell, log),
      control: new SerialSender(this.control, log),
      stdin: new SerialSender(this.stdin, log),
      iopub: new SerialSender(this.iopub, log),
    };
  }

  async bind(): Promise<void> {
    const sockets: [ChannelName, Router | Publisher | Reply][] = [
      ["shell", this.shell],
      ["control", this.control],
      ["stdin", this.stdin],
      ["iopub", this.iopub],
      ["hb", this.hb],
    ];
    await Promise.all(sockets.map(([name, socket]) => socket.bind(channelEndpoint(this.info, name))));
  }

  /** Start receiving; each channel is read by its own loop so control is served while shell is busy. */
  listen(listener: MessageListener): void {
    for (const [name, socket] of [["shell", this.shell], ["control", this.control], ["stdin", this.stdin]] as const) {
      void this.receiveLoop(name, socket, listener);
    }
    void this.heartbeatLoop();
  }

  private async receiveLoop(channel: IncomingChannel, socket: Router, listener: MessageListener): Promise<void> {
    try {
      for await (const frames of socket) {
        let message: JupyterMessage;
        try {
          message = decodeMessage(channel, frames as Buffer[], this.signer);
        } catch (e) {
          this.log((e as Error).message);
          continue;
        }
        try {
          listener(channel, message);
        } catch (e) {
          this.log(`handler for ${message.header.msg_type} failed: ${(e as Error).stack}`);
        }
      }
    } catch (e) {
      if (!this.closed) this.log(`${channel} socket stopped: ${(e as Error).message}`);
    }
  }

  private async heartbeatLoop(): Promise<void> {
    try {
      for await (const frames of this.hb) await this.hb.send(frames as Buffer[]);
    } catch (e) {
      if (!this.closed) this.log(`heartbeat stopped: ${(e as Error).message}`);
    }
  }

  /** Reply to `request` on the channel it came from. */
  reply(channel: IncomingChannel, request: JupyterMessage, msgType: string, content: unknown, metadata: Record<string, unknown> = {}): Promise<void> {
    return this.send(channel, {
      identities: request.identities,
      header: makeHeader(msgType, this.session),
      parent_header: request.header,
      metadata,
      content,
    });
  }

  /** Broadcast on iopub with `parent` as the parent header (null: none). */
  publish(msgType: string, content: unknown, parent: MessageHeader | null, metadata: Record<string, unknown> = {}): Promise<void> {
    return this.send("iopub", {
      // The topic frame: subscribers filter on it; "kernel.<id>.<type>" is the convention.
      identities: [Buffer.from(`kernel.${this.session}.${msgType}`)],
      header: makeHeader(msgType, this.session),
      parent_header: parent ?? {},
      metadata,
      content,
    });
  }

  private send(channel: "shell" | "control" | "stdin" | "iopub", message: OutgoingMessage): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.senders[channel].send(encodeMessage(message, this.signer));
  }

  /** Wait for queued sends, then close every socket. */
  async close(): Promise<void> {
    await Promise.all(Object.values(this.senders).map((s) => s.drained()));
    this.closed = true;
    for (const socket of [this.shell, this.control, this.stdin, this.iopub, this.hb]) socket.close();
  }
}
