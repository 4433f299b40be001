/** Redis connections (ioredis): URL checking, login with the URL's credentials, clear connect errors, reconnecting after a drop. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { bullConnection, controlClient, parseRedisUrl, QueueConfigError, QueueConnectionError } from "../../../../forge/transport/queue/index.js";
import { freePort, startRedis, type RedisProcess } from "./helpers.js";

describe("parseRedisUrl", () => {
  it("keeps the URL for ioredis and hides the password in its display form", () => {
    expect(parseRedisUrl("redis://alice:s%40cret@10.0.0.5:6380/2")).toEqual({ url: "redis://alice:s%40cret@10.0.0.5:6380/2", display: "redis://alice:***@10.0.0.5:6380/2" });
    expect(parseRedisUrl("rediss://:pw@h").display).toBe("rediss://:***@h");
    expect(parseRedisUrl("redis://127.0.0.1:6379").display).toBe("redis://127.0.0.1:6379");
  });

  it("refuses what is not a Redis URL, saying what it expected", () => {
    expect(() => parseRedisUrl("http://127.0.0.1:6379")).toThrow(QueueConfigError);
    expect(() => parseRedisUrl("http://127.0.0.1:6379")).toThrow(/must start with redis:\/\/ or rediss:\/\/, got "http:\/\/127.0.0.1:6379"/);
    expect(() => parseRedisUrl("127.0.0.1:6379 x")).toThrow(/is not a Redis URL/);
    expect(() => parseRedisUrl("redis://h/x")).toThrow(/database must be a number ≥ 0, got "x"/);
    expect(() => parseRedisUrl("redis://h:99999")).toThrow(QueueConfigError);
  });
});

describe("ioredis clients against a real redis-server", () => {
  let redis: RedisProcess;
  let locked: RedisProcess;
  const password = "correct horse battery";
  const lockedUrl = (credentials: string) => `redis://${credentials}127.0.0.1:${locked.port}`;
  const opened: Redis[] = [];
  beforeAll(async () => {
    [redis, locked] = await Promise.all([startRedis(), startRedis(["--requirepass", password])]);
  });
  afterAll(async () => {
    for (const client of opened) client.disconnect();
    await Promise.all([redis?.stop(), locked?.stop()]);
  });

  async function control(url: string): Promise<Redis> {
    const client = await controlClient(parseRedisUrl(url));
    opened.push(client);
    return client;
  }

  it("a control client reconnects by itself after its connection is killed", async () => {
    const client = await control(redis.url);
    const admin = await control(redis.url);
    const id = await client.client("ID");
    let closed = false;
    client.once("close", () => (closed = true));
    expect(await admin.client("KILL", "ID", String(id))).toBe(1);
    while (!closed) await new Promise((r) => setTimeout(r, 10));
    expect(await client.ping()).toBe("PONG"); // waits in ioredis's offline queue, then runs on the new connection
    expect(await client.client("ID")).not.toBe(id);
  });

  it("a BullMQ queue on a bullConnection keeps working after its connection is killed", async () => {
    const connection = bullConnection(parseRedisUrl(redis.url));
    const admin = await control(redis.url);
    const queue = new Queue("conn-test", { connection });
    try {
      await queue.add("a", { n: 1 }, { jobId: "a" });
      expect((await queue.getJob("a"))?.data).toEqual({ n: 1 });
      expect(await admin.client("KILL", "TYPE", "normal", "SKIPME", "yes")).toBeGreaterThanOrEqual(1);
      await queue.add("b", { n: 2 }, { jobId: "b" });
      expect(await queue.getJobCounts("waiting")).toEqual({ waiting: 2 });
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });

  it("logs in with the URL's password and database", async () => {
    const inDb1 = await control(lockedUrl(`:${encodeURIComponent(password)}@`) + "/1");
    const inDb0 = await control(lockedUrl(`:${encodeURIComponent(password)}@`));
    expect(await inDb1.set("x", "1")).toBe("OK");
    expect(await inDb1.get("x")).toBe("1");
    expect(await inDb0.get("x")).toBeNull();
  });

  it("says clearly when the password is wrong or missing or nobody listens, and gives up at once", async () => {
    const admin = await control(lockedUrl(`:${encodeURIComponent(password)}@`));
    const connectionsReceived = async () => Number(/total_connections_received:(\d+)/.exec(await admin.info("stats"))![1]);
    await expect(control(lockedUrl(":nope@"))).rejects.toThrow(
      /^Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the login: WRONGPASS .*\(check the user name and password in the URL\)$/,
    );
    await expect(control(lockedUrl(""))).rejects.toThrow(/^Redis at redis:\/\/127\.0\.0\.1:\d+ refused the login: NOAUTH .*\(put the password in the URL/);
    // The failed clients do not keep trying in the background (ioredis would retry after 50, 100, 150 ms …).
    const received = await connectionsReceived();
    await new Promise((r) => setTimeout(r, 400));
    expect(await connectionsReceived()).toBe(received);
    const port = await freePort();
    await expect(control(`redis://127.0.0.1:${port}`)).rejects.toThrow(new RegExp(`^cannot connect to Redis at redis://127\\.0\\.0\\.1:${port}: ECONNREFUSED$`));
    await expect(control(`redis://127.0.0.1:${port}`)).rejects.toBeInstanceOf(QueueConnectionError);
  });
});
