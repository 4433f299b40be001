/**
 * Set-up for the queue tests: a private redis-server on a free loopback port, a small random
 * model saved to a temp folder (worker processes load it with makeBackend(dir)), a short
 * workflow, and `forge worker` child processes whose log lines the tests can watch.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as forge from "../../../../forge/index.js";
import { tinySeedProgram } from "../../../helpers/workflows.js";

/** A free TCP port on 127.0.0.1 (asked of the OS, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RedisProcess {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts `redis-server` on a free loopback port in a temp dir; fails clearly when it is not installed. */
export async function startRedis(extraArgs: string[] = []): Promise<RedisProcess> {
  if (spawnSync("redis-server", ["--version"]).error)
    throw new Error("redis-server is not on PATH: the queue tests need it (Debian: apt-get install redis-server; CI installs it in scripts/setup.sh)");
  const dir = mkdtempSync(join(tmpdir(), "forge-redis-"));
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, ...extraArgs], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Ready to accept connections/.test(output)) resolve();
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)));
    setTimeout(() => reject(new Error(`redis-server did not start within 10 s:\n${output}`)), 10_000);
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The seed example's shape with short prompts (loop 1…3 times), as one workflow. */
export function tinyWorkflow(maxGen = 6) {
  const { config, factory } = tinySeedProgram(maxGen, 3);
  return { config, workflow: factory() };
}

/** The brief's small random GPT-2-family model, saved with the byte-level tokenizer.json. */
export function saveTestModel(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "forge-queue-model-"));
  const model = forge.DecoderModel.random(
    forge.smallConfig("gpt2", { vocabSize: 257, hiddenSize: 32, layers: 2, heads: 2, intermediateSize: 64, maxPositions: 1024 }),
    1,
  );
  forge.saveModel(model, dir, forge.byteLevelTokenizerJson());
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A `forge worker` child process; `lines` collects its log, `waitFor` waits for a line. */
export class WorkerProcess {
  readonly lines: string[] = [];
  private readonly child: ChildProcess;
  private waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];

  constructor(args: string[]) {
    this.child = spawn(process.execPath, ["--import", "tsx", "forge/transport/queue/worker-main.ts", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, FORGE_BACKEND: "wasm" },
    });
    let buffered = "";
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => (w.pattern.test(line) ? (w.resolve(line), false) : true));
      }
    };
    this.child.stdout!.on("data", onData);
    this.child.stderr!.on("data", onData);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Resolves with the first line (already seen or to come) that matches. */
  waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<string> {
    const seen = this.lines.find((l) => pattern.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${this.pid} printed no line matching ${pattern} in ${timeoutMs} ms:\n${this.lines.join("\n")}`)), timeoutMs);
      this.waiters.push({ pattern, resolve: (line) => (clearTimeout(timer), resolve(line)) });
    });
  }

  kill(signal: NodeJS.Signals): Promise<void> {
    if (this.exited) return Promise.resolve();
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill(signal);
    return exited;
  }
}
