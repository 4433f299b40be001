/**
 * A small Jupyter client for tests: starts the kernel the way Jupyter does (the kernelspec's
 * argv with a connection file), and speaks the protocol over zeromq (Dealer for shell and
 * control, Subscriber for iopub). It signs with the same HMAC code path a real client would
 * need — and can send unsigned, mis-signed or malformed frames on purpose.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Dealer, Subscriber } from "zeromq";
import { kernelspec } from "../../kernel/install.js";
import { decodeMessage, encodeMessage, makeHeader, MessageSigner, type ConnectionInfo, type JupyterMessage } from "../../kernel/protocol/index.js";

export type Msg = JupyterMessage;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Kernel's working directory (Jupyter uses the notebook's folder). */
  cwd?: string;
  /** Command line with "{connection_file}" (default: our kernelspec's argv). */
  argv?: string[];
}

export class KernelClient {
  readonly events = new EventEmitter().setMaxListeners(0);
  readonly iopub: Msg[] = [];
  readonly replies = new Map<string, Msg>();
  stderr = "";
  private readonly session = `test-${randomBytes(4).toString("hex")}`;
  private readonly signer: MessageSigner;
  private readonly shell = new Dealer();
  private readonly control = new Dealer();
  private readonly sub = new Subscriber();
  private closed = false;
  exited: Promise<number | null>;
  /** performance.now() at spawn, and when the first kernel_info_reply arrived. */
  spawnedAt = performance.now();
  firstKernelInfoAt = 0;

  private constructor(
    readonly info: ConnectionInfo,
    readonly process: ChildProcess,
  ) {
    this.signer = new MessageSigner(info.key, info.signature_scheme);
    this.exited = new Promise((resolve) => process.once("exit", (code) => resolve(code)));
    process.stderr?.on("data", (d: Buffer) => (this.stderr += d.toString()));
    for (const s of [this.shell, this.control, this.sub]) {
      s.linger = 0;
      // Connect attempts start before the kernel binds: retry quickly so start-up is measured fairly.
      s.reconnectInterval = 10;
    }
  }

  /** Start a kernel process and wait until it answers kernel_info and iopub is subscribed. */
  static async start(options: StartOptions = {}): Promise<KernelClient> {
    const dir = mkdtempSync(join(tmpdir(), "forge-kernel-client-"));
    const info: ConnectionInfo = {
      transport: "tcp",
      ip: "127.0.0.1",
      shell_port: await freePort(),
      control_port: await freePort(),
      iopub_port: await freePort(),
      stdin_port: await freePort(),
      hb_port: await freePort(),
      key: randomBytes(16).toString("hex"),
      signature_scheme: "hmac-sha256",
    };
    const file = join(dir, "kernel.json");
    writeFileSync(file, JSON.stringify(info));
    const argv = (options.argv ?? kernelspec().argv).map((a) => (a === "{connection_file}" ? file : a));
    const spawnedAt = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: options.cwd ?? dir,
      env: { ...process.env, FORGE_KERNEL_HISTORY: join(dir, "history.sqlite"), ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const client = new KernelClient(info, child);
    client.spawnedAt = spawnedAt;
    await client.connect();
    return client;
  }

  private async connect(): Promise<void> {
    const url = (port: number) => `tcp://${this.info.ip}:${port}`;
    this.shell.connect(url(this.info.shell_port));
    this.control.connect(url(this.info.control_port));
    this.sub.connect(url(this.info.iopub_port));
    this.sub.subscribe();
    void this.readLoop("shell", this.shell);
    void this.readLoop("control", this.control);
    void this.readIopub();
    // iopub is a PUB socket: keep asking kernel_info until a status message shows we are subscribed.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const id = this.send("shell", "kernel_info_request", {});
      try {
        await this.reply(id, 1500);
        this.firstKernelInfoAt ||= performance.now();
        await this.outputs(id, 500);
        return;
      } catch {
        if (this.process.exitCode !== null) throw new Error(`kernel exited: ${this.stderr}`);
      }
    }
    throw new Error(`kernel did not become ready: ${this.stderr}`);
  }

  private async readLoop(_name: string, socket: Dealer): Promise<void> {
    try {
      for await (const frames of socket) {
        const msg = decodeMessage("client", frames as Buffer[], this.signer);
        const parent = (msg.parent_header as { msg_id?: string }).msg_id;
        if (parent) this.replies.set(parent, msg);
        this.events.emit("reply", msg);
      }
    } catch {
      /* closed */
    }
  }

  private async readIopub(): Promise<void> {
    try {
      for await (const frames of this.sub) {
        const msg = decodeMessage("iopub", frames as Buffer[], this.signer);
        this.iopub.push(msg);
        this.events.emit("iopub", msg);
      }
    } catch {
      /* closed */
    }
  }

  /** Send a signed request; returns its msg_id. */
  send(channel: "shell" | "control", msgType: string, content: unknown, signer: MessageSigner = this.signer): string {
    const header = makeHeader(msgType, this.session);
    void this.sendFrames(channel, encodeMessage({ header, parent_header: {}, content }, signer));
    return header.msg_id;
  }

  private tails = { shell: Promise.resolve(), control: Promise.resolve() };
  sendFrames(channel: "shell" | "control", frames: (Buffer | string)[]): Promise<void> {
    const socket = channel === "shell" ? this.shell : this.control;
    this.tails[channel] = this.tails[channel].then(() => socket.send(frames));
    return this.tails[channel];
  }

  reply(msgId: string, timeoutMs = 30_000): Promise<Msg> {
    const found = this.replies.get(msgId);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.events.off("reply", onReply);
        reject(new Error(`no reply to ${msgId} within ${timeoutMs} ms; kernel stderr:\n${this.stderr}`));
      }, timeoutMs);
      const onReply = (m: Msg) => {
        if ((m.parent_header as { msg_id?: string }).msg_id !== msgId) return;
        clearTimeout(timer);
        this.events.off("reply", onReply);
        resolve(m);
      };
      this.events.on("reply", onReply);
    });
  }

  /** iopub messages whose parent is `msgId`, up to and including its idle status. */
  outputs(msgId: string, timeoutMs = 30_000): Promise<Msg[]> {
    const mine = () => this.iopub.filter((m) => (m.parent_header as { msg_id?: string }).msg_id === msgId);
    const idle = (m: Msg) => m.header.msg_type === "status" && (m.content as { execution_state?: string }).execution_state === "idle";
    if (mine().some(idle)) return Promise.resolve(mine());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.events.off("iopub", onMsg);
        reject(new Error(`no idle for ${msgId} within ${timeoutMs} ms; kernel stderr:\n${this.stderr}`));
      }, timeoutMs);
      const onMsg = (m: Msg) => {
        if ((m.parent_header as { msg_id?: string }).msg_id !== msgId || !idle(m)) return;
        clearTimeout(timer);
        this.events.off("iopub", onMsg);
        resolve(mine());
      };
      this.events.on("iopub", onMsg);
    });
  }

  /** Resolves with the first iopub message for `msgId` that `accept` takes. */
  waitForOutput(msgId: string, accept: (m: Msg) => boolean, timeoutMs = 60_000): Promise<Msg> {
    const match = (m: Msg) => (m.parent_header as { msg_id?: string }).msg_id === msgId && accept(m);
    const found = this.iopub.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.events.off("iopub", onMsg);
        reject(new Error(`no matching output for ${msgId} within ${timeoutMs} ms; kernel stderr:\n${this.stderr}`));
      }, timeoutMs);
      const onMsg = (m: Msg) => {
        if (!match(m)) return;
        clearTimeout(timer);
        this.events.off("iopub", onMsg);
        resolve(m);
      };
      this.events.on("iopub", onMsg);
    });
  }

  async execute(code: string, options: { stop_on_error?: boolean; silent?: boolean; timeoutMs?: number } = {}): Promise<{ reply: Msg; outputs: Msg[]; id: string }> {
    const id = this.send("shell", "execute_request", {
      code,
      silent: options.silent ?? false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: options.stop_on_error ?? true,
    });
    const [reply, outputs] = await Promise.all([this.reply(id, options.timeoutMs), this.outputs(id, options.timeoutMs)]);
    return { reply, outputs, id };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.process.exitCode === null) {
      this.process.kill("SIGKILL");
      await this.exited;
    }
    for (const s of [this.shell, this.control, this.sub]) s.close();
  }
}

/** The `text/plain` of a cell's execute_result, or undefined. */
export function resultText(outputs: Msg[]): string | undefined {
  const result = outputs.find((m) => m.header.msg_type === "execute_result");
  return (result?.content as { data?: Record<string, string> } | undefined)?.data?.["text/plain"];
}

export function streamText(outputs: Msg[], name: "stdout" | "stderr"): string {
  return outputs
    .filter((m) => m.header.msg_type === "stream" && (m.content as { name: string }).name === name)
    .map((m) => (m.content as { text: string }).text)
    .join("");
}

export function ofType(outputs: Msg[], type: string): Msg[] {
  return outputs.filter((m) => m.header.msg_type === type);
}
