/**
 * forge-agent: any registered agent as a shell command.
 *
 *   npx tsx agents/cli.ts <agent> --<input> value … [options]
 *
 * Flags come from the agent's declared inputs, `--help` from its help text; JSON outputs go
 * to stdout so agents pipe (`a … | forge-agent b --stdin`). Options:
 *   --module <file.ts>   load user agents (repeatable)     --dry-run         pass dryRun to agents that declare it
 *   --tape <file.sqlite> record the run                   --resume <runId>  continue a run from the tape
 *   --run-id <id>        name the run on the tape          --concurrency <n> default workflow parallelism
 *   --stdin              read a JSON object of inputs from stdin; a flag value `-` reads that one input from stdin
 *                        (at most MAX_STDIN_BYTES = 16 MiB; more is a usage error)
 *   --allow-env NAME[,NAME]  let templates read these environment variables as `{{$NAME}}` (repeatable);
 *                        no other variable is readable (an agent file is untrusted input)
 *   --rerun-in-doubt     with --resume: run side-effecting steps that were in flight at the crash
 *                        again even though nothing can tell whether they ran (after checking by hand)
 *   --list               list agents                       --help            usage (of the agent, when named)
 */
import { pathToFileURL } from "node:url";
import { Table } from "apache-arrow";
import { createDefaultRegistry } from "./builtins.js";
import { declaresInput } from "./define.js";
import { AgentError, errorMessage } from "./errors.js";
import { loadAgentModule, type AgentRegistry } from "./registry.js";
import { resumeRun, runAgent } from "./run.js";
import { Tape } from "./tape/index.js";
import type { Agent, Inputs, PortSpec } from "./types.js";

/** A mistake on the command line: reported without a stack trace, exit code 2. */
export class UsageError extends AgentError {
  constructor(message: string) {
    super(message, "usage");
    this.name = "UsageError";
  }
}

export interface CliOptions {
  agent: string | null;
  modules: string[];
  tape: string | null;
  resume: string | null;
  runId: string | null;
  dryRun: boolean;
  concurrency: number | null;
  stdin: boolean;
  /** Environment variables templates may read (`--allow-env`). */
  allowEnv: string[];
  rerunInDoubt: boolean;
  list: boolean;
  help: boolean;
  /** Raw `--name value` pairs for the agent (value `true` for a bare flag). */
  flags: Array<[string, string | true]>;
}

const OPTIONS_WITH_VALUE = new Set(["module", "tape", "resume", "run-id", "concurrency", "allow-env"]);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BARE_OPTIONS = new Set(["dry-run", "stdin", "list", "help", "rerun-in-doubt"]);

export function parseCliArgs(argv: string[]): CliOptions {
  const o: CliOptions = {
    agent: null, modules: [], tape: null, resume: null, runId: null, dryRun: false,
    concurrency: null, stdin: false, allowEnv: [], rerunInDoubt: false, list: false, help: false, flags: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) {
      if (o.agent !== null) throw new UsageError(`unexpected argument "${arg}" (inputs are given as --name value)`);
      o.agent = arg;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    const next = () => {
      if (inline !== undefined) return inline;
      const v = argv[i + 1];
      if (v === undefined || (v.startsWith("--") && v.length > 2)) throw new UsageError(`--${name} needs a value`);
      i++;
      return v;
    };
    if (OPTIONS_WITH_VALUE.has(name)) {
      const v = next();
      if (name === "module") o.modules.push(v);
      else if (name === "tape") o.tape = v;
      else if (name === "resume") o.resume = v;
      else if (name === "run-id") o.runId = v;
      else if (name === "allow-env") {
        for (const env of v.split(",").map((n) => n.trim())) {
          if (!ENV_NAME.test(env)) throw new UsageError(`--allow-env takes environment variable names separated by commas (NAME[,NAME]), got "${v}"`);
          if (!o.allowEnv.includes(env)) o.allowEnv.push(env);
        }
      } else {
        o.concurrency = Number(v);
        if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new UsageError(`--concurrency needs a positive integer, got "${v}"`);
      }
    } else if (BARE_OPTIONS.has(name)) {
      if (name === "dry-run") o.dryRun = true;
      else if (name === "stdin") o.stdin = true;
      else if (name === "list") o.list = true;
      else if (name === "rerun-in-doubt") o.rerunInDoubt = true;
      else o.help = true;
    } else {
      const v = argv[i + 1];
      if (inline !== undefined) o.flags.push([name, inline]);
      else if (v === undefined || (v.startsWith("--") && v.length > 2)) o.flags.push([name, true]);
      else {
        o.flags.push([name, v]);
        i++;
      }
    }
  }
  return o;
}

function typeName(port: PortSpec): string {
  const def = (port.schema as { def?: { type?: string } } | undefined)?.def;
  return def?.type ?? "json";
}

/** `--help` of an agent, generated from its declarations. */
export function agentHelp(agent: Agent): string {
  const lines = [`forge-agent ${agent.name} — ${agent.help || "(no help text)"}`, `  (${agent.kind} agent)`, ""];
  const section = (title: string, ports: Record<string, PortSpec>, asFlags: boolean) => {
    const entries = Object.entries(ports);
    if (entries.length === 0) return;
    lines.push(title);
    for (const [name, port] of entries) {
      const head = asFlags ? `  --${name} <${typeName(port)}>` : `  ${name}`;
      const def = port.default !== undefined ? ` (default: ${JSON.stringify(port.default)})` : "";
      lines.push(`${head.padEnd(30)} ${port.help}${def}`);
    }
    lines.push("");
  };
  section("Inputs (required):", agent.inputs, true);
  section("Optional inputs:", agent.optionalInputs, true);
  section("Outputs (JSON on stdout):", agent.outputs, false);
  if ("dryRun" in agent.optionalInputs) lines.push("Supports --dry-run.", "");
  return lines.join("\n");
}

function generalHelp(registry: AgentRegistry): string {
  return [
    "usage: forge-agent <agent> [--<input> value …] [--dry-run] [--stdin] [--tape file.sqlite [--resume runId]] [--module file.ts]",
    "       forge-agent <agent> --help | forge-agent --list",
    "",
    "Options:",
    "  --module <file>              load agents from a .ts module or a .toml/.json agent file (repeatable)",
    "  --tape <file.sqlite>         record the run; --run-id <id> names it, --resume <runId> continues it",
    "  --rerun-in-doubt             with --resume: run again side-effecting steps the crash left in doubt",
    "                               (by default such a step stops the resume, naming it)",
    "  --allow-env NAME[,NAME]      let templates read these environment variables as {{$NAME}} (repeatable);",
    "                               no other variable is readable, so an agent file cannot read your secrets",
    "  --dry-run                    pass dryRun to agents that declare it",
    `  --stdin                      read a JSON object of inputs from stdin, at most ${MAX_STDIN_BYTES / 2 ** 20} MiB (a flag value - reads one input)`,
    "  --concurrency <n>            default workflow parallelism",
    "",
    "Agents:",
    ...registry.list().map((a) => `  ${a.name.padEnd(22)} ${a.help.split("\n")[0]}`),
  ].join("\n");
}

/** A flag's text → value: through the port's schema (as text, then as JSON); without one, JSON else text. */
function convertFlag(agent: Agent, name: string, port: PortSpec, raw: string | true): unknown {
  if (raw === true) return true;
  if (!port.schema) {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  const asText = port.schema.safeParse(raw);
  if (asText.success) return asText.data;
  try {
    const asJson = port.schema.safeParse(JSON.parse(raw));
    if (asJson.success) return asJson.data;
  } catch {
    /* not JSON: report the schema's complaint about the text */
  }
  throw new UsageError(`${agent.name} --${name}: ${asText.error.issues.map((i) => i.message).join("; ")} (got "${raw}")`);
}

/**
 * Most bytes `--stdin` (or a flag value `-`) reads: 16 MiB, the order of the HTTP server's
 * body limit (limits.maxBodyBytes, 4 MiB) with room for a piped table. Stdin is whatever the
 * previous command writes; unbounded, `yes | forge-agent x --stdin` grew the process until
 * the machine ran out of memory.
 */
export const MAX_STDIN_BYTES = 16 * 1024 * 1024;

/** Stdin as UTF-8, at most `limit` bytes; past it a UsageError naming the limit (reading stops). */
export async function readStdin(stream: NodeJS.ReadableStream = process.stdin, limit = MAX_STDIN_BYTES): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    total += bytes.length;
    if (total > limit) {
      // Leaving the loop stops the stream; the writer gets EPIPE rather than an endless wait.
      throw new UsageError(`stdin: more than ${limit} bytes (MAX_STDIN_BYTES); pass a smaller input, or a file path as a flag`);
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, total).toString("utf8");
}

export function buildInputs(agent: Agent, flags: CliOptions["flags"], stdinJson: unknown, stdinText: string | null): Inputs {
  const ports: Record<string, PortSpec> = { ...agent.inputs, ...agent.optionalInputs };
  // Own keys only (declaresInput): `--constructor 5` named Object.prototype's constructor as a
  // port, and a piped {"__proto__": {…}} became the inputs' prototype, its keys read as inputs.
  const isPort = (name: string) => declaresInput(agent, name);
  const inputs: Inputs = {};
  if (stdinJson && typeof stdinJson === "object" && !Array.isArray(stdinJson)) {
    // Piping: the previous agent's outputs feed the inputs of the same name.
    for (const [k, v] of Object.entries(stdinJson)) if (isPort(k)) inputs[k] = v;
  }
  for (const [flag, raw] of flags) {
    const name = isPort(flag) ? flag : isPort(flag.replace(/-/g, "_")) ? flag.replace(/-/g, "_") : null;
    if (name === null) {
      throw new UsageError(`${agent.name}: unknown flag --${flag} (flags: ${Object.keys(ports).map((p) => "--" + p).join(", ") || "none"})`);
    }
    if (raw === "-") {
      if (stdinText === null) throw new UsageError(`${agent.name} --${name} -: stdin was already read`);
      const obj = stdinJson as Record<string, unknown> | null;
      inputs[name] = obj && typeof obj === "object" && Object.hasOwn(obj, name) ? obj[name] : stdinText.trimEnd();
    } else inputs[name] = convertFlag(agent, name, ports[name]!, raw);
  }
  return inputs;
}

/** JSON for stdout: Arrow tables become arrays of row objects, bigints strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (v instanceof Table) return v.toArray().map((row) => row.toJSON());
      if (typeof v === "bigint") return v.toString();
      return v;
    },
    0,
  );
}

export async function main(argv: string[]): Promise<number> {
  let tape: Tape | undefined;
  try {
    const o = parseCliArgs(argv);
    const registry = createDefaultRegistry();
    for (const m of o.modules) await loadAgentModule(registry, m);
    if (o.list) {
      process.stdout.write(toJson(registry.list().map((a) => ({ name: a.name, kind: a.kind, help: a.help }))) + "\n");
      return 0;
    }
    if (o.resume && !o.tape) throw new UsageError("--resume needs --tape");
    if (o.rerunInDoubt && !o.resume) throw new UsageError("--rerun-in-doubt goes with --resume");
    if (o.help && !o.agent) {
      process.stdout.write(generalHelp(registry) + "\n");
      return 0;
    }
    tape = o.tape ? Tape.open(o.tape) : undefined;
    const options = {
      registry,
      tape,
      dryRun: o.dryRun,
      allowEnv: o.allowEnv, // never the whole environment: agent files are untrusted
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
    };
    if (o.resume) {
      const result = await resumeRun(o.resume, { ...options, tape: tape!, rerunInDoubt: o.rerunInDoubt });
      process.stderr.write(`run ${result.runId} (resumed)\n`);
      process.stdout.write(toJson(result.outputs) + "\n");
      return 0;
    }
    if (!o.agent) throw new UsageError("name an agent (forge-agent --list shows them)");
    const agent = registry.get(o.agent);
    if (!agent) throw new UsageError(`unknown agent "${o.agent}" (forge-agent --list shows them)`);
    if (o.help) {
      process.stdout.write(agentHelp(agent) + "\n");
      return 0;
    }
    const wantsStdin = o.stdin || o.flags.some(([, v]) => v === "-");
    const stdinText = wantsStdin ? await readStdin() : null;
    let stdinJson: unknown = null;
    if (stdinText !== null && stdinText.trim() !== "") {
      try {
        stdinJson = JSON.parse(stdinText);
      } catch {
        if (o.stdin) throw new UsageError("--stdin: stdin is not JSON");
      }
    }
    const inputs = buildInputs(agent, o.flags, stdinJson, stdinText);
    const result = await runAgent(agent, inputs, { ...options, ...(o.runId ? { runId: o.runId } : {}) });
    if (tape) process.stderr.write(`run ${result.runId}\n`);
    process.stdout.write(toJson(result.outputs) + "\n");
    return 0;
  } catch (error) {
    process.stderr.write(`forge-agent: ${errorMessage(error)}\n`);
    return error instanceof UsageError ? 2 : 1;
  } finally {
    tape?.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
