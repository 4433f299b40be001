/**
 * Redis connections, all from ioredis (the driver BullMQ is built and tested on).
 *
 *   parseRedisUrl   checks a redis:// or rediss:// URL before ioredis sees it (ioredis would
 *                   read "http://x" as a host name) and gives its password-free form for messages
 *   bullConnection  an ioredis client in BullMQ's adapter (`createIORedisClient`), for one
 *                   Queue or Worker; BullMQ duplicates it for a Worker's blocking reader
 *   controlClient   a connected ioredis client for Forge's own keys (worker registry, cancel
 *                   flags); its first connect fails with the reason (refused, wrong password)
 *                   instead of retrying in the background
 *   closeAll        disconnects clients we created (BullMQ leaves passed-in connections open)
 *
 * ioredis parses the URL itself (credentials, database, TLS for rediss://) and reconnects after
 * a dropped connection with its back-off; commands sent meanwhile wait in its offline queue.
 */
import type { IRedisClient } from "bullmq";
import type { Redis, RedisOptions } from "ioredis";
import { bullmq, ioredis } from "./drivers.js";
import { QueueConfigError, QueueConnectionError } from "./errors.js";

/** A checked Redis URL. */
export interface RedisTarget {
  /** The URL as given, password included: what ioredis connects with. */
  url: string;
  /** The URL without its password, for messages and logs. */
  display: string;
}

/** Checks `redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS). */
export function parseRedisUrl(url: string): RedisTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new QueueConfigError(`${JSON.stringify(url)} is not a Redis URL (expected e.g. "redis://127.0.0.1:6379")`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:")
    throw new QueueConfigError(`the Redis URL must start with redis:// or rediss://, got ${JSON.stringify(url)}`);
  const dbText = parsed.pathname.replace(/^\//, "");
  if (dbText !== "" && !/^\d+$/.test(dbText))
    throw new QueueConfigError(`the Redis URL's database must be a number ≥ 0, got "${dbText}" in ${JSON.stringify(url)}`);
  if (parsed.hostname === "") throw new QueueConfigError(`the Redis URL names no host: ${JSON.stringify(url)}`);
  if (parsed.password) parsed.password = "***";
  return { url, display: parsed.href };
}

export interface BullConnectionOptions {
  /**
   * How many reconnect attempts a command waits through before it fails (ioredis's
   * `maxRetriesPerRequest`). Default null, wait for Redis to come back: what BullMQ requires
   * of a Worker's connections. A session passes a number, so that a request fails, rather
   * than hangs, when Redis is gone.
   */
  retries?: number | null;
}

function redisOptions(options: BullConnectionOptions): RedisOptions {
  return { maxRetriesPerRequest: options.retries ?? null };
}

/** A connection for one BullMQ Queue, Worker or QueueEvents; it connects at once. */
export function bullConnection(target: RedisTarget, options: BullConnectionOptions = {}): IRedisClient {
  const client = new (ioredis().Redis)(target.url, redisOptions(options));
  // BullMQ listens for the client's errors while a Queue or Worker uses it; this one keeps ioredis
  // from printing "Unhandled error event" when a drop happens outside that time.
  client.on("error", () => undefined);
  return bullmq().createIORedisClient(client);
}

/**
 * A connected plain client, for Forge's own keys. When the first connect fails it is closed and
 * the promise rejects with what went wrong: `cannot connect to Redis at URL: ECONNREFUSED`, or
 * `Redis at URL refused the login: WRONGPASS …` (the URL shown without its password). Once
 * connected, it reconnects by itself after a drop; a command fails after 20 reconnect attempts.
 */
export async function controlClient(target: RedisTarget): Promise<Redis> {
  const client = new (ioredis().Redis)(target.url, { lazyConnect: true, maxRetriesPerRequest: 20 });
  let firstError: Error | null = null;
  const onError = (err: Error) => void (firstError ??= err);
  client.on("error", onError);
  try {
    await client.connect();
  } catch (err) {
    client.disconnect(); // no reconnecting in the background
    throw connectError(target, firstError ?? (err as Error));
  }
  client.off("error", onError);
  client.on("error", () => undefined); // connection trouble later surfaces as the failing command's error
  return client;
}

/** A system error (ECONNREFUSED, ENOTFOUND, ETIMEDOUT …) or Redis's own refusal, said in words. */
function connectError(target: RedisTarget, err: Error): QueueConnectionError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && /^E[A-Z]+$/.test(code)) return new QueueConnectionError(`cannot connect to Redis at ${target.display}: ${code}`);
  const hint = /^NOAUTH/.test(err.message)
    ? " (put the password in the URL: redis://:PASSWORD@host:port)"
    : /^WRONGPASS/.test(err.message)
      ? " (check the user name and password in the URL)"
      : "";
  return new QueueConnectionError(`Redis at ${target.display} refused the login: ${err.message}${hint}`);
}

/** Closes BullMQ connections we created (BullMQ leaves passed-in connections open). */
export function closeAll(connections: IRedisClient[]): void {
  for (const connection of connections) connection.disconnect();
}
