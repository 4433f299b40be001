/**
 * Built-in agents: `forge.sample` (run a compiled program on a backend → extractions as an
 * Arrow table), `datasets.export`, `loop` (repeat a sub-workflow until a condition or a
 * maximum) and `noop`. The Forge engine and the datasets layer are wired in through the
 * small structural interfaces below, so this layer does not depend on their modules.
 */
import { Table, Utf8, Int32, makeTable, vectorFromArray, type Vector } from "apache-arrow";
import { z } from "zod";
import { defineProc } from "./define.js";
import { AgentError } from "./errors.js";
import { evaluateExpression, MISSING, parseCondition, type Expression } from "./expressions/index.js";
import { AgentRegistry } from "./registry.js";
import type { Run, SzcpWorkflow } from "../forge/index.js";
import type { Outputs, ProcAgent } from "./types.js";

/** What `forge.sample` needs from the engine: one batched request. */
export interface ForgeSession {
  request(
    config: Record<string, unknown>,
    workflow: SzcpWorkflow,
    options: { batchSize: number; seed: number },
  ): Promise<{ extractions: Record<string, string[]>; run: Run }>;
}

/** A compiled program, possibly parameterised (e.g. a UDPL program with resource draws): args → SZCP workflow. */
export type SzcpFactory = (args?: Record<string, unknown>) => SzcpWorkflow;

/** What `datasets.export` needs from the datasets layer. */
export type DatasetExporter = (
  table: Table,
  options: { path: string; format?: string },
) => Promise<{ path: string; rows: number }> | { path: string; rows: number };

export interface BuiltinOptions {
  session?: ForgeSession;
  /** Programs `forge.sample` can name by string. */
  programs?: Record<string, SzcpFactory>;
  exporter?: DatasetExporter;
}

/** Extractions (name → per-stream text) as an Arrow table: `stream` (int32) then one utf8 column per extraction. */
export function extractionsToTable(extractions: Record<string, string[]>): Table {
  const names = Object.keys(extractions);
  const rows = names.length === 0 ? 0 : Math.max(...names.map((n) => extractions[n]!.length));
  const columns: Record<string, Vector> = {
    stream: vectorFromArray(Array.from({ length: rows }, (_, i) => i), new Int32()),
  };
  for (const name of names) {
    const values = Array.from({ length: rows }, (_, i) => extractions[name]![i] ?? null);
    columns[name] = vectorFromArray(values, new Utf8());
  }
  return makeTable(columns as never) as unknown as Table;
}

export function noopAgent(): ProcAgent {
  return defineProc({
    name: "noop",
    help: "Does nothing and returns its optional input `value` (a placeholder step; benchmarks).",
    optionalInputs: { value: { help: "returned unchanged", default: null } },
    outputs: { value: { help: "the input value" } },
    run: (inputs) => ({ value: inputs.value }),
  });
}

export function forgeSampleAgent(options: BuiltinOptions): ProcAgent {
  return defineProc({
    name: "forge.sample",
    help: "Run a compiled Forge program on the configured backend; returns the extractions as an Arrow table (one row per stream).",
    inputs: {
      program: {
        help: "a program name known to the registry, or a compiled SZCP workflow object",
        schema: z.union([z.string(), z.looseObject({ format: z.literal("forge.szcp") })]),
      },
    },
    optionalInputs: {
      args: { help: "arguments for a named program's factory", schema: z.record(z.string(), z.unknown()), default: {} },
      config: { help: "backend / sampling configuration passed to the session", schema: z.record(z.string(), z.unknown()), default: {} },
      batchSize: { help: "streams to sample", schema: z.coerce.number().int().positive(), default: 1 },
      seed: { help: "sampling seed", schema: z.coerce.number().int(), default: 0 },
    },
    outputs: {
      table: { help: "Arrow table: stream + one column per extraction" },
      extractions: { help: "extraction name → per-stream text" },
      runId: { help: "the engine's run id" },
    },
    async run(inputs) {
      if (!options.session) {
        throw new AgentError("forge.sample: no Forge session is configured (pass { session } to createDefaultRegistry)", "configuration");
      }
      let workflow: SzcpWorkflow;
      if (typeof inputs.program === "string") {
        const factory = options.programs?.[inputs.program];
        if (!factory) {
          const known = Object.keys(options.programs ?? {});
          throw new AgentError(`forge.sample: unknown program "${inputs.program}" (known: ${known.join(", ") || "none"})`, "input");
        }
        workflow = factory(inputs.args as Record<string, unknown>);
      } else {
        workflow = inputs.program as unknown as SzcpWorkflow;
      }
      const { extractions, run } = await options.session.request(inputs.config as Record<string, unknown>, workflow, {
        batchSize: inputs.batchSize as number,
        seed: inputs.seed as number,
      });
      return { table: extractionsToTable(extractions), extractions, runId: run.meta.runId };
    },
  });
}

export function datasetsExportAgent(options: BuiltinOptions): ProcAgent {
  return defineProc({
    name: "datasets.export",
    help: "Export an Arrow table as a dataset file; with --dry-run, only reports what it would write.",
    inputs: {
      table: { help: "Arrow table to export", schema: z.instanceof(Table) },
      path: { help: "where to write", schema: z.string().min(1) },
    },
    optionalInputs: {
      format: { help: "file format understood by the exporter (e.g. parquet, jsonl, arrow)", schema: z.string() },
      dryRun: { help: "report the export without writing", schema: z.boolean(), default: false },
    },
    outputs: {
      path: { help: "the written path" },
      rows: { help: "rows written" },
      written: { help: "false in a dry run" },
    },
    async run(inputs) {
      const table = inputs.table as Table;
      if (inputs.dryRun) return { path: inputs.path, rows: table.numRows, written: false };
      if (!options.exporter) {
        throw new AgentError("datasets.export: no exporter is configured (pass { exporter } to createDefaultRegistry)", "configuration");
      }
      const result = await options.exporter(table, { path: inputs.path as string, format: inputs.format as string | undefined });
      return { path: result.path, rows: result.rows, written: true };
    },
  });
}

const untilCache = new Map<string, Expression>();

export function loopAgent(): ProcAgent {
  return defineProc({
    name: "loop",
    help:
      "Repeat a sub-workflow (any agent) until a condition holds or a maximum is reached. Each iteration's outputs " +
      "feed the next iteration's inputs of the same name.",
    inputs: { body: { help: "name of the agent to repeat", schema: z.string() } },
    optionalInputs: {
      inputs: { help: "inputs of the first iteration", schema: z.record(z.string(), z.unknown()), default: {} },
      until: {
        help: "condition over the last outputs (by name, or `last.x`) and `iteration`, e.g. `score >= 0.9`",
        schema: z.string(),
      },
      maxIterations: { help: "upper bound on iterations", schema: z.coerce.number().int().positive(), default: 10 },
    },
    outputs: {
      last: { help: "outputs of the last iteration" },
      iterations: { help: "iterations run" },
      history: { help: "outputs of every iteration" },
    },
    async run(inputs, ctx) {
      const body = ctx.registry.get(inputs.body as string);
      if (!body) throw new AgentError(`loop: unknown body agent "${inputs.body as string}"`, "unknown-agent");
      let until: Expression | null = null;
      if (inputs.until !== undefined) {
        const source = inputs.until as string;
        until = untilCache.get(source) ?? parseCondition(source, `loop "${ctx.path}", until`);
        untilCache.set(source, until);
      }
      const bodyInputNames = new Set([...Object.keys(body.inputs), ...Object.keys(body.optionalInputs)]);
      let current = { ...(inputs.inputs as Record<string, unknown>) };
      const history: Outputs[] = [];
      const max = inputs.maxIterations as number;
      for (let iteration = 1; iteration <= max; iteration++) {
        const last = await ctx.call(body, current, `#${iteration}`);
        history.push(last);
        if (until) {
          const values: Record<string, unknown> = { ...last, last, iteration };
          const scope = {
            get: (n: string) => {
              const key = n.replace(/^\$/, "");
              return Object.hasOwn(values, key) ? values[key] : MISSING;
            },
          };
          if (evaluateExpression(until, scope, `loop "${ctx.path || "root"}", until`)) break;
        }
        // Carry outputs into the next iteration's inputs of the same name.
        current = { ...current };
        for (const [k, v] of Object.entries(last)) if (bodyInputNames.has(k)) current[k] = v;
      }
      return { last: history[history.length - 1] ?? {}, iterations: history.length, history };
    },
  });
}

/** A registry holding the built-ins (forge.sample and datasets.export wired to `options`). */
export function createDefaultRegistry(options: BuiltinOptions = {}): AgentRegistry {
  return new AgentRegistry([noopAgent(), loopAgent(), forgeSampleAgent(options), datasetsExportAgent(options)]);
}
