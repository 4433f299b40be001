/**
 * A minimal Redis connection (RESP2 over TCP/TLS) shaped like Bun's built-in `RedisClient`
 * (`send(command, args)`, `connected`, `onconnect` / `onclose`, `duplicate()`), so BullMQ's own
 * Bun adapter (`createBunRedisClient`) turns it into a full BullMQ connection.
 *
 * Why this exists: BullMQ ≥ 6 takes its Redis driver (ioredis / node-redis) as an optional peer
 * dependency, and the project installs none. `redisConnection()` (connection.ts) prefers
 * `ioredis` when it is installed and falls back to this.
 *
 * Protocol: requests are arrays of bulk strings; replies arrive in request order, so a FIFO of
 * pending promises matches them. A top-level error reply rejects its promise; an error nested
 * in an array (EXEC) is returned as an Error element, as BullMQ's adapter expects.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { QueueConfigError } from "./errors.js";

/** Where a Redis server is and how to log in, parsed from a redis:// or rediss:// URL. */
export interface RedisTarget {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  tls: boolean;
  /** The URL without its password, for messages and logs. */
  display: string;
}

/** Parses `redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS). */
export function parseRedisUrl(url: string): RedisTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new QueueConfigError(`${JSON.stringify(url)} is not a Redis URL (expected e.g. "redis://127.0.0.1:6379")`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:")
    throw new QueueConfigError(`the Redis URL must start with redis:// or rediss://, got ${JSON.stringify(url)}`);
  const port = parsed.port === "" ? 6379 : Number(parsed.port);
  const dbText = parsed.pathname.replace(/^\//, "");
  const db = dbText === "" ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw new QueueConfigError(`the Redis URL's database must be a number ≥ 0, got "${dbText}" in ${JSON.stringify(url)}`);
  const display = new URL(url);
  if (display.password) display.password = "***";
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1",
    port,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db,
    tls: parsed.protocol === "rediss:",
    display: display.href,
  };
}

type Reply = string | number | null | Error | Reply[];

interface Pending {
  resolve: (value: Reply) => void;
  reject: (error: Error) => void;
}

const CRLF = Buffer.from("\r\n");

/** Encodes one command as a RESP array of bulk strings. */
export function encodeCommand(command: string, args: readonly unknown[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length + 1}\r\n`)];
  for (const arg of [command, ...args]) {
    const bytes = Buffer.isBuffer(arg) ? arg : arg instanceof Uint8Array ? Buffer.from(arg) : Buffer.from(arg == null ? "" : String(arg));
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

/** Incremental RESP2 reply parser: feed bytes, take whole replies. */
export class RespParser {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Reply[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const replies: Reply[] = [];
    let offset = 0;
    for (;;) {
      const parsed = this.parse(offset);
      if (parsed === undefined) break;
      replies.push(parsed.value);
      offset = parsed.end;
    }
    this.buffer = this.buffer.subarray(offset);
    return replies;
  }

  /** One reply starting at `offset`, or undefined when its bytes have not all arrived. */
  private parse(offset: number): { value: Reply; end: number } | undefined {
    const lineEnd = this.buffer.indexOf(CRLF, offset);
    if (lineEnd < 0) return undefined;
    const type = String.fromCharCode(this.buffer[offset]!);
    const line = this.buffer.toString("utf8", offset + 1, lineEnd);
    const next = lineEnd + 2;
    switch (type) {
      case "+":
        return { value: line, end: next };
      case "-":
        return { value: new Error(line), end: next };
      case ":":
        return { value: Number(line), end: next };
      case "$": {
        const length = Number(line);
        if (length < 0) return { value: null, end: next };
        if (this.buffer.length < next + length + 2) return undefined;
        return { value: this.buffer.toString("utf8", next, next + length), end: next + length + 2 };
      }
      case "*": {
        const count = Number(line);
        if (count < 0) return { value: null, end: next };
        const items: Reply[] = [];
        let at = next;
        for (let i = 0; i < count; i++) {
          const item = this.parse(at);
          if (item === undefined) return undefined;
          items.push(item.value);
          at = item.end;
        }
        return { value: items, end: at };
      }
      default:
        throw new Error(`Redis protocol error: unexpected reply type ${JSON.stringify(type)}`);
    }
  }
}

export interface RespClientOptions {
  /** The socket does not keep the process alive. */
  unref?: boolean;
  /** A command sent while the connection is down reconnects first (not after `close()`). For
   * Forge's own keys; BullMQ's adapter reconnects by itself and must not get this. */
  reconnect?: boolean;
}

/** One connection to Redis, with the surface of Bun's `RedisClient` that BullMQ's adapter uses. */
export class RespClient {
  connected = false;
  onconnect: (() => void) | null = null;
  onclose: ((error?: Error) => void) | null = null;
  onerror: ((error: Error) => void) | null = null;
  private socket: net.Socket | null = null;
  private pending: Pending[] = [];
  private closing = false;
  private reconnecting: Promise<void> | null = null;

  /**
   * `unref`: the socket does not keep the process alive (a session's idle connections must
   * not stop a script from exiting; the session holds the process open while a request runs).
   */
  constructor(
    readonly target: RedisTarget,
    private readonly options: RespClientOptions = {},
  ) {}

  get url(): string {
    return this.target.display;
  }

  /** Opens the socket, logs in (AUTH, SELECT), then reports `onconnect`. */
  connect(): Promise<void> {
    const { host, port } = this.target;
    return new Promise<void>((resolve, reject) => {
      const socket = this.target.tls ? tls.connect({ host, port, servername: host }) : net.connect({ host, port });
      this.socket = socket;
      this.closing = false;
      const parser = new RespParser();
      let opened = false; // the socket connected
      let ready = false; // and the login went through
      socket.setNoDelay(true);
      if (this.options.unref) socket.unref();
      socket.on("data", (chunk: Buffer) => {
        let replies: Reply[];
        try {
          replies = parser.push(chunk);
        } catch (err) {
          socket.destroy(err as Error);
          return;
        }
        for (const reply of replies) {
          const waiter = this.pending.shift();
          if (!waiter) continue;
          if (reply instanceof Error) waiter.reject(reply);
          else waiter.resolve(reply);
        }
      });
      socket.on("error", (err) => {
        if (!opened) reject(new Error(`cannot connect to Redis at ${this.target.display}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
        else this.onerror?.(err);
      });
      socket.on("close", () => {
        this.connected = false;
        this.socket = null;
        const failed = this.pending.splice(0);
        for (const waiter of failed) waiter.reject(new Error("Connection closed"));
        // No error argument: BullMQ's adapter would re-emit it as an 'error' event that nobody may be
        // listening to; it reconnects either way, and failed commands already rejected above.
        if (ready) this.onclose?.();
      });
      socket.once(this.target.tls ? "secureConnect" : "connect", () => {
        opened = true;
        this.login()
          .then(() => {
            ready = true;
            this.connected = true;
            this.onconnect?.();
            resolve();
          })
          .catch((err: Error) => {
            socket.destroy();
            reject(new Error(`Redis at ${this.target.display} refused the login: ${err.message}`));
          });
      });
    });
  }

  private async login(): Promise<void> {
    const { username, password, db } = this.target;
    if (password !== undefined) await this.write("AUTH", username ? [username, password] : [password]);
    if (db !== 0) await this.write("SELECT", [db]);
  }

  /** Sends one command; the promise settles with its reply. */
  send(command: string, args: readonly unknown[] = []): Promise<any> {
    if (this.connected) return this.write(command, args);
    if (this.options.reconnect && !this.closing) {
      this.reconnecting ??= this.connect().finally(() => (this.reconnecting = null));
      return this.reconnecting.then(() => this.write(command, args));
    }
    return Promise.reject(new Error("Connection is closed."));
  }

  private write(command: string, args: readonly unknown[]): Promise<Reply> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new Error("Connection is closed."));
    return new Promise<Reply>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      socket.write(encodeCommand(command, args));
    });
  }

  close(): void {
    this.closing = true;
    this.connected = false;
    this.socket?.end();
    this.socket?.destroy();
  }

  /** A new, unconnected client for the same server (BullMQ opens one per blocking reader). */
  async duplicate(): Promise<RespClient> {
    return new RespClient(this.target, this.options);
  }
}
