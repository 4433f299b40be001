/** The RESP client: URL parsing, command encoding, the incremental reply parser, and a real server (login included). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeCommand, parseRedisUrl, QueueConfigError, RespClient, RespParser } from "../../../forge/queue/index.js";
import { freePort, startRedis, type RedisProcess } from "./helpers.js";

describe("parseRedisUrl", () => {
  it("reads host, port, credentials and database, and hides the password", () => {
    const t = parseRedisUrl("redis://alice:s%40cret@10.0.0.5:6380/2");
    expect(t).toMatchObject({ host: "10.0.0.5", port: 6380, username: "alice", password: "s@cret", db: 2, tls: false });
    expect(t.display).toBe("redis://alice:***@10.0.0.5:6380/2");
    expect(parseRedisUrl("rediss://h").tls).toBe(true);
    expect(parseRedisUrl("redis://h").port).toBe(6379);
  });

  it("refuses what is not a Redis URL, saying what it expected", () => {
    expect(() => parseRedisUrl("http://127.0.0.1:6379")).toThrow(QueueConfigError);
    expect(() => parseRedisUrl("http://127.0.0.1:6379")).toThrow(/must start with redis:\/\/ or rediss:\/\/, got "http:\/\/127.0.0.1:6379"/);
    expect(() => parseRedisUrl("127.0.0.1:6379 x")).toThrow(/is not a Redis URL/);
    expect(() => parseRedisUrl("redis://h/x")).toThrow(/database must be a number/);
  });
});

describe("RESP encoding and parsing", () => {
  it("encodes a command as an array of bulk strings, bytes exact", () => {
    expect(encodeCommand("SET", ["k", Buffer.from([0, 255]), 12]).toString("latin1")).toBe("*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n\x00\xff\r\n$2\r\n12\r\n");
    expect(encodeCommand("GET", ["é"]).toString("utf8")).toBe("*2\r\n$3\r\nGET\r\n$2\r\né\r\n");
  });

  it("parses replies split at any byte, nested errors kept as Error elements", () => {
    const wire = Buffer.from("+OK\r\n:42\r\n$4\r\nhé!\r\n$-1\r\n*3\r\n$1\r\na\r\n-ERR inner\r\n*1\r\n:7\r\n-NOSCRIPT no\r\n", "utf8");
    for (let cut = 1; cut < wire.length; cut += 3) {
      const parser = new RespParser();
      const replies = [...parser.push(wire.subarray(0, cut)), ...parser.push(wire.subarray(cut))];
      expect(replies.slice(0, 4)).toEqual(["OK", 42, "hé!", null]);
      const array = replies[4] as unknown[];
      expect(array[0]).toBe("a");
      expect(array[1]).toBeInstanceOf(Error);
      expect((array[1] as Error).message).toBe("ERR inner");
      expect(array[2]).toEqual([7]);
      expect((replies[5] as Error).message).toBe("NOSCRIPT no");
      expect(replies).toHaveLength(6);
    }
  });
});

describe("RespClient against a real redis-server", () => {
  let redis: RedisProcess;
  let locked: RedisProcess;
  beforeAll(async () => {
    [redis, locked] = await Promise.all([startRedis(), startRedis(["--requirepass", "correct horse battery"])]);
  });
  afterAll(async () => {
    await Promise.all([redis?.stop(), locked?.stop()]);
  });

  it("pipelines commands, keeps bytes and text exact, rejects error replies", async () => {
    const client = new RespClient(parseRedisUrl(redis.url));
    await client.connect();
    expect(client.connected).toBe(true);
    const text = "ünïcode ✓ \r\n with CRLF";
    const replies = await Promise.all([
      client.send("SET", ["k", text]),
      client.send("GET", ["k"]),
      client.send("RPUSH", ["list", "a", "b", "c"]),
      client.send("LRANGE", ["list", 0, -1]),
      client.send("GET", ["missing"]),
    ]);
    expect(replies).toEqual(["OK", text, 3, ["a", "b", "c"], null]);
    await expect(client.send("INCR", ["k"])).rejects.toThrow(/not an integer/);
    expect(await client.send("PING")).toBe("PONG"); // the connection survives an error reply
    client.close();
    await expect(client.send("PING")).rejects.toThrow(/Connection is closed/);
  });

  it("with reconnect, a command after a dropped connection reconnects first", async () => {
    const client = new RespClient(parseRedisUrl(redis.url), { reconnect: true });
    const admin = new RespClient(parseRedisUrl(redis.url));
    await Promise.all([client.connect(), admin.connect()]);
    const id = await client.send("CLIENT", ["ID"]);
    expect(await admin.send("CLIENT", ["KILL", "ID", id])).toBe(1);
    while (client.connected) await new Promise((r) => setTimeout(r, 10));
    expect(await client.send("PING")).toBe("PONG");
    expect(await client.send("CLIENT", ["ID"])).not.toBe(id);
    client.close();
    admin.close();
    await expect(client.send("PING")).rejects.toThrow(/Connection is closed/); // not after close()
  });

  it("logs in with the URL's password and says so when it is wrong or the server is not there", async () => {
    const url = `redis://:${encodeURIComponent("correct horse battery")}@127.0.0.1:${locked.port}/1`;
    const client = new RespClient(parseRedisUrl(url));
    await client.connect();
    expect(await client.send("SET", ["x", "1"])).toBe("OK");
    client.close();
    const wrong = new RespClient(parseRedisUrl(`redis://:nope@127.0.0.1:${locked.port}`));
    await expect(wrong.connect()).rejects.toThrow(/Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the login: WRONGPASS/);
    const none = new RespClient(parseRedisUrl(`redis://127.0.0.1:${locked.port}`));
    await none.connect(); // Redis accepts the connection but not the commands
    await expect(none.send("GET", ["x"])).rejects.toThrow(/NOAUTH/);
    none.close();
    const port = await freePort();
    await expect(new RespClient(parseRedisUrl(`redis://127.0.0.1:${port}`)).connect()).rejects.toThrow(
      new RegExp(`cannot connect to Redis at redis://127\\.0\\.0\\.1:${port}: ECONNREFUSED`),
    );
  });
});
