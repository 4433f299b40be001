/**
 * Sandboxed proc agents: user code runs in a separate Node process, never in ours.
 *
 * Which boundary enforces what:
 *  - File system outside the allowed folders, child processes, worker threads, native addons:
 *    Node's permission model (`--experimental-permission --allow-fs-read/--allow-fs-write`,
 *    no `--allow-child-process`, no `--allow-worker`) — enforced by Node for the whole process.
 *    Node's model follows symbolic links, so: the folders are resolved to real paths before they
 *    are granted; a run is refused when an allowed folder holds a link leading outside the
 *    allowed folders (the process-level check, for an escaped context); and every file operation
 *    of the user's code resolves the real path and refuses one outside the real allowed folders,
 *    which also catches links that appear while the code runs (runner.mjs). The process cannot
 *    create links itself (Node's model refuses `symlink`/`link`).
 *  - Memory: `--max-old-space-size` caps the V8 heap (the process dies past it), and RLIMIT_DATA
 *    (`ulimit -d`, memoryMb + 96 MB for Node itself) caps everything else the kernel gives it —
 *    ArrayBuffers live outside the V8 heap, so without it `new Uint8Array(4e9)` would pass.
 *  - CPU time: RLIMIT_CPU (`ulimit -t` in a /bin/sh wrapper; the kernel kills the process).
 *  - Wall time: the parent kills the process (SIGKILL) when `wallMs` passes.
 *  - Network: the user's code runs in a `vm` context holding only JavaScript built-ins and
 *    string-only shims (runner.mjs), so it has no socket API at all; and, where `unshare -rn`
 *    works (Linux with user namespaces), the process also runs in an empty network namespace,
 *    so the kernel refuses connections even to an escaped process.
 */
import { spawn, spawnSync } from "node:child_process";
import { lstatSync, readdirSync, readlinkSync, realpathSync } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { AgentError } from "../errors.js";
import { defineProc } from "../define.js";
import type { Inputs, Outputs, Ports, ProcAgent } from "../types.js";

export interface SandboxLimits {
  /** Wall-clock limit (default 10 000 ms). */
  wallMs?: number;
  /** V8 heap limit (default 128 MB); the whole data segment is capped at this + 96 MB. */
  memoryMb?: number;
  /** CPU-time limit in whole seconds (default 5). */
  cpuSeconds?: number;
  /** Folders (or files) the code may read; everything else is refused. */
  allowRead?: string[];
  /** Folders (or files) the code may write. */
  allowWrite?: string[];
  /** Give the code `fetchText(url)` and run it outside the empty network namespace (default false). */
  allowNetwork?: boolean;
}

export type SandboxErrorKind = "sandbox-timeout" | "sandbox-memory" | "sandbox-cpu" | "sandbox-error";

export class SandboxError extends AgentError {
  constructor(message: string, kind: SandboxErrorKind) {
    super(message, kind);
    this.name = "SandboxError";
  }
}

export interface SandboxResult {
  outputs: Outputs;
  logs: string[];
  wallMs: number;
}

/** Data-segment headroom for Node's own native memory, above the JS heap limit. */
const NODE_OVERHEAD_MB = 96;

export const RUNNER = resolve(dirname(fileURLToPath(import.meta.url)), "runner.mjs");

let namespaceProbe: boolean | null = null;

/** Whether this machine can put the sandbox in an empty network namespace (`unshare -rn`). */
export function networkNamespaceAvailable(): boolean {
  if (namespaceProbe === null) {
    const probe = spawnSync("unshare", ["-rn", "true"], { stdio: "ignore", timeout: 5000 });
    namespaceProbe = probe.status === 0;
  }
  return namespaceProbe;
}

/**
 * Real path of `p`: that of its nearest existing ancestor plus the rest; a dangling link counts
 * as its target. What the permission model is granted, and what the runner checks against.
 */
export function realPath(p: string, depth = 0): string {
  let at = resolve(p);
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(at), ...rest);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw error;
      let target: string | null = null;
      try {
        if (lstatSync(at).isSymbolicLink()) target = readlinkSync(at);
      } catch {
        /* not there */
      }
      if (target !== null && depth < 40) return realPath(join(resolve(realPath(dirname(at), depth + 1), target), ...rest), depth + 1);
      const parent = dirname(at);
      if (parent === at) return resolve(p);
      rest.unshift(basename(at));
      at = parent;
    }
  }
}

/** Whether the real path `real` is one of `roots` or lies below one. */
export function within(real: string, roots: readonly string[]): boolean {
  return roots.some((root) => real === root || real.startsWith(root.endsWith(sep) ? root : root + sep));
}

/** The real read and write roots of `limits` (write roots are readable too only if listed in allowRead). */
export function sandboxRoots(limits: SandboxLimits): { read: string[]; write: string[] } {
  return { read: (limits.allowRead ?? []).map((p) => realPath(p)), write: (limits.allowWrite ?? []).map((p) => realPath(p)) };
}

/**
 * The first symbolic link under `roots` that leads outside all of them, or null. Walks every
 * folder (one readdir per folder; links are resolved, other entries are not touched).
 */
export function findOutwardLink(roots: string[]): { link: string; target: string } | null {
  const seen = new Set<string>();
  const stack = roots.filter((r) => {
    try {
      return lstatSync(r).isDirectory();
    } catch {
      return false;
    }
  });
  while (stack.length > 0) {
    const dir = stack.pop()!;
    if (seen.has(dir)) continue;
    seen.add(dir);
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue; // unreadable: the permission model and the runner's checks still apply
    }
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isSymbolicLink()) {
        const target = realPath(full);
        if (!within(target, roots)) return { link: full, target };
      } else if (entry.isDirectory()) stack.push(full);
    }
  }
  return null;
}

/** The command line that starts `entry` inside the sandbox's process-level limits. */
export function sandboxCommand(limits: SandboxLimits, entry: string = RUNNER): { command: string; args: string[] } {
  const cpu = Math.max(1, Math.ceil(limits.cpuSeconds ?? 5));
  const memory = Math.max(16, Math.floor(limits.memoryMb ?? 128));
  const roots = sandboxRoots(limits);
  const read = [realPath(entry), ...roots.read];
  const write = roots.write;
  const node = [
    process.execPath,
    "--experimental-permission",
    "--disable-warning=ExperimentalWarning",
    ...read.map((p) => `--allow-fs-read=${p}`),
    ...write.map((p) => `--allow-fs-write=${p}`),
    `--max-old-space-size=${memory}`,
    entry,
  ];
  // sh applies the CPU rlimit, then exec's node (same pid, so the wall-clock kill reaches node).
  // Soft limit → SIGXCPU (reported as "sandbox-cpu"); the hard limit a second later is the kernel's SIGKILL backstop.
  const dataKb = (memory + NODE_OVERHEAD_MB) * 1024;
  const rlimits = `ulimit -d ${dataKb} && ulimit -S -t ${cpu} && ulimit -H -t ${cpu + 1}`;
  const shell = ["/bin/sh", "-c", `${rlimits} && exec "$0" "$@"`, ...node];
  if (!limits.allowNetwork && networkNamespaceAvailable()) return { command: "unshare", args: ["-rn", ...shell] };
  return { command: shell[0]!, args: shell.slice(1) };
}

/** Run `code` (which defines `async function run(inputs)`) on `inputs` in a fresh sandbox process. */
export function runSandboxed(code: string, inputs: Inputs, limits: SandboxLimits = {}, signal?: AbortSignal): Promise<SandboxResult> {
  const wallMs = limits.wallMs ?? 10_000;
  const started = performance.now();
  const roots = sandboxRoots(limits);
  const outward = findOutwardLink([...roots.read, ...roots.write]);
  if (outward) {
    return Promise.reject(
      new SandboxError(
        `sandbox refused to start: "${outward.link}" is a symbolic link leading outside the allowed folders (to "${outward.target}"); ` +
          `remove it, or allow its target too`,
        "sandbox-error",
      ),
    );
  }
  const { command, args } = sandboxCommand(limits);
  const cwd = roots.write[0] ?? roots.read[0] ?? dirname(RUNNER);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe", "ipc"], cwd, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
    let stderr = "";
    let message: { ok: boolean; outputs?: Outputs; error?: string; logs: string[] } | null = null;
    let killedFor: SandboxErrorKind | null = null;
    child.stderr!.on("data", (d: Buffer) => {
      if (stderr.length < 64_000) stderr += d.toString("utf8");
    });
    child.on("message", (m) => (message = m as typeof message));
    const timer = setTimeout(() => {
      killedFor = "sandbox-timeout";
      child.kill("SIGKILL");
    }, wallMs);
    const onAbort = () => {
      killedFor = "sandbox-timeout";
      child.kill("SIGKILL");
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new SandboxError(`sandbox could not start: ${error.message}`, "sandbox-error"));
    });
    child.on("close", (code, sig) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      const elapsed = performance.now() - started;
      if (message) {
        if (message.ok) return resolvePromise({ outputs: message.outputs ?? {}, logs: message.logs, wallMs: elapsed });
        if (/allocation failed/i.test(message.error ?? "")) {
          return reject(new SandboxError(`sandboxed code exceeded its memory limit: ${message.error}`, "sandbox-memory"));
        }
        return reject(new SandboxError(`sandboxed code failed: ${message.error}`, "sandbox-error"));
      }
      if (killedFor === "sandbox-timeout") {
        return reject(new SandboxError(`sandboxed code ran past its wall-time limit of ${wallMs} ms and was killed`, "sandbox-timeout"));
      }
      if (sig === "SIGXCPU" || sig === "SIGKILL") {
        // Nobody here sent it: only the CPU rlimit kills this process with these signals.
        return reject(new SandboxError(`sandboxed code used more than ${limits.cpuSeconds ?? 5}s of CPU and was killed`, "sandbox-cpu"));
      }
      if (/heap out of memory|Allocation failed/i.test(stderr)) {
        return reject(new SandboxError(`sandboxed code exceeded its memory limit of ${limits.memoryMb ?? 128} MB`, "sandbox-memory"));
      }
      const tail = stderr.trim().split("\n").slice(-3).join(" | ");
      reject(new SandboxError(`sandbox process ended (code ${code}, signal ${sig}) without a result${tail ? ": " + tail : ""}`, "sandbox-error"));
    });
    // Roots given through a link: the code may keep using the given form, which the runner maps onto the real one.
    const aliases = [...(limits.allowRead ?? []), ...(limits.allowWrite ?? [])]
      .map((p) => [resolve(p), realPath(p)])
      .filter(([given, real]) => given !== real);
    child.send({ code, inputs, allowNetwork: limits.allowNetwork === true, readRoots: roots.read, writeRoots: roots.write, aliases });
  });
}

/** A proc agent whose body is user code run by `runSandboxed`. */
export function defineSandboxedProc(d: {
  name: string;
  help: string;
  inputs?: Ports;
  optionalInputs?: Ports;
  outputs?: Ports;
  code: string;
  limits?: SandboxLimits;
  /** When the code changes the world outside the run (see ProcAgent.sideEffects). */
  sideEffects?: ProcAgent["sideEffects"];
}): ProcAgent {
  return defineProc({
    ...d,
    async run(inputs, ctx) {
      const result = await runSandboxed(d.code, inputs, d.limits, ctx.signal);
      const outputs = result.outputs;
      if (!outputs || typeof outputs !== "object" || Array.isArray(outputs)) {
        throw new AgentError(`sandboxed agent "${d.name}" must return an object of outputs`, "output");
      }
      return outputs;
    },
  });
}
