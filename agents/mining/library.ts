/**
 * The workflow library: built-in, registered and mined workflows with usage metadata, and
 * `suggest()` — which workflows fit the agents (or words) a user is about to chain.
 */
import { AgentError } from "../errors.js";
import type { AgentRegistry } from "../registry.js";
import type { AgentLookup, WorkflowAgent } from "../types.js";
import { minePatterns, patternToWorkflow, type ExecutionLogEntry, type MiningOptions } from "./mine.js";

export interface LibraryEntry {
  workflow: WorkflowAgent;
  source: "builtin" | "registered" | "mined";
  usageCount: number;
  /** null when unknown. */
  successRate: number | null;
  tags: string[];
}

export interface SuggestQuery {
  /** Agents the user wants to chain, in order. */
  agents?: string[];
  /** Words matched against workflow names, help and tags. */
  text?: string;
  limit?: number;
}

export interface Suggestion {
  workflow: WorkflowAgent;
  entry: LibraryEntry;
  score: number;
  reason: string;
}

/** Longest prefix of `wanted` found in order (not necessarily contiguously) in `have`. */
function inOrderMatches(wanted: string[], have: string[]): number {
  let k = 0;
  for (const a of have) if (k < wanted.length && a === wanted[k]) k++;
  return k;
}

export class WorkflowLibrary {
  private readonly entries = new Map<string, LibraryEntry>();

  register(workflow: WorkflowAgent, meta: Partial<Omit<LibraryEntry, "workflow">> = {}): this {
    if (workflow.kind !== "workflow") throw new AgentError(`"${(workflow as { name: string }).name}" is not a workflow`, "definition");
    this.entries.set(workflow.name, {
      workflow,
      source: meta.source ?? "registered",
      usageCount: meta.usageCount ?? 0,
      successRate: meta.successRate ?? null,
      tags: meta.tags ?? [],
    });
    return this;
  }

  get(name: string): LibraryEntry | undefined {
    return this.entries.get(name);
  }

  list(): LibraryEntry[] {
    return [...this.entries.values()];
  }

  /** Mine `log`, add a workflow per pattern (source "mined"), return them best first. */
  learn(log: ExecutionLogEntry[], registry?: AgentLookup, options?: MiningOptions): WorkflowAgent[] {
    return minePatterns(log, options).map((p) => {
      const workflow = patternToWorkflow(p, registry);
      this.register(workflow, { source: "mined", usageCount: p.support, successRate: p.successRate, tags: p.agents });
      return workflow;
    });
  }

  suggest(query: SuggestQuery): Suggestion[] {
    const wanted = query.agents ?? [];
    const words = (query.text ?? "").toLowerCase().split(/\W+/).filter(Boolean);
    const out: Suggestion[] = [];
    for (const entry of this.entries.values()) {
      const agents = entry.workflow.steps.map((s) => s.agent);
      const matched = wanted.length ? inOrderMatches(wanted, agents) / wanted.length : 1;
      const haystack = `${entry.workflow.name} ${entry.workflow.help} ${entry.tags.join(" ")}`.toLowerCase();
      const wordHits = words.length ? words.filter((w) => haystack.includes(w)).length / words.length : 1;
      if (matched === 0 || wordHits === 0) continue;
      const quality = entry.usageCount * (entry.successRate ?? 0.5);
      // Coverage of the query dominates; usage × success rate breaks ties.
      const score = matched * wordHits * 1000 + quality;
      out.push({ workflow: entry.workflow, entry, score, reason: `${Math.round(matched * 100)}% of the agents in order, used ${entry.usageCount}×, success ${entry.successRate === null ? "unknown" : (entry.successRate * 100).toFixed(0) + "%"}` });
    }
    return out.sort((a, b) => b.score - a.score).slice(0, query.limit ?? 5);
  }

  /** Make every workflow of the library runnable by name. */
  install(registry: AgentRegistry): void {
    for (const e of this.entries.values()) if (!registry.has(e.workflow.name)) registry.register(e.workflow);
  }
}

/** Built-in workflows (the seed's sample → score → feed back → export loop, in its simplest forms). */
export function builtinWorkflows(): WorkflowAgent[] {
  const sampleAndExport: WorkflowAgent = {
    kind: "workflow",
    name: "forge.sample_and_export",
    help: "Sample a compiled program and export the extractions as a dataset",
    inputs: { program: { help: "program name or SZCP workflow" }, path: { help: "dataset path" } },
    optionalInputs: { batchSize: { help: "streams", default: 8 }, seed: { help: "seed", default: 0 } },
    outputs: { path: { help: "written path" }, rows: { help: "rows written" } },
    steps: [
      { id: "sample", agent: "forge.sample", inputs: { program: "{{program}}", batchSize: "{{batchSize}}", seed: "{{seed}}" } },
      { id: "export", agent: "datasets.export", inputs: { table: "{{sample.table}}", path: "{{path}}" } },
    ],
    returns: { path: "{{export.path}}", rows: "{{export.rows}}" },
  };
  return [sampleAndExport];
}

export function createWorkflowLibrary(): WorkflowLibrary {
  const library = new WorkflowLibrary();
  for (const w of builtinWorkflows()) library.register(w, { source: "builtin", tags: ["forge", "dataset"] });
  return library;
}
