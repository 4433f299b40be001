/**
 * Redis connections for BullMQ. BullMQ ≥ 6 leaves the Redis driver to the application;
 * each Queue / Worker / QueueEvents gets its own connection (BullMQ's Bun-client adapter over
 * our RESP client, resp.ts), and a plain `RespClient` serves Forge's own keys (worker
 * registry, cancel flags). Connections passed in are ours to close: `closeAll`.
 */
import { createBunRedisClient, type IRedisClient } from "bullmq";
import { RespClient, type RedisTarget } from "./resp.js";

export interface ConnectionOptions {
  /** Idle connections do not keep the process alive (sessions). */
  unref?: boolean;
}

/** A connection for one BullMQ Queue, Worker or QueueEvents. */
export function bullConnection(target: RedisTarget, options: ConnectionOptions = {}): IRedisClient {
  // The adapter only uses the Bun client's send / connected / onconnect / onclose / duplicate.
  return createBunRedisClient(new RespClient(target, options) as never) as IRedisClient;
}

/** A connected plain client, for Forge's own keys; it reconnects on the next command after a drop. */
export async function controlClient(target: RedisTarget, options: ConnectionOptions = {}): Promise<RespClient> {
  const client = new RespClient(target, { ...options, reconnect: true });
  await client.connect();
  return client;
}

/** Closes BullMQ connections we created (BullMQ leaves passed-in connections open). */
export async function closeAll(connections: IRedisClient[]): Promise<void> {
  await Promise.all(connections.map((c) => c.quit().catch(() => undefined)));
}
