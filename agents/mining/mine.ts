/**
 * Pattern mining over execution logs (workflow-system-architecture seed): group calls by
 * session, order them by time, count every contiguous run of 2..maxLength agents, keep those
 * seen in at least `minSupport` sessions, drop those not closed (a longer pattern with the
 * same support says more), and rank by support × success rate.
 */
import type { AgentLookup, StepSpec, WorkflowAgent } from "../types.js";
import { AgentError } from "../errors.js";

export interface ExecutionLogEntry {
  session: string;
  agent: string;
  /** ms since epoch, or an ISO date string. */
  time: number | string;
  success: boolean;
}

export interface SequencePattern {
  agents: string[];
  /** Sessions in which the sequence occurs (contiguously) at least once. */
  support: number;
  /** All occurrences, over all sessions. */
  occurrences: number;
  /** Occurrences in which every call succeeded. */
  successes: number;
  successRate: number;
  /** support × successRate: the ranking key. */
  score: number;
}

export interface MiningOptions {
  /** Minimum sessions containing a sequence (default 2). */
  minSupport?: number;
  minLength?: number;
  maxLength?: number;
  /** Keep only closed patterns (default true). */
  closedOnly?: boolean;
}

interface Counter {
  agents: string[];
  support: number;
  lastSession: number;
  occurrences: number;
  successes: number;
}

function timeOf(entry: ExecutionLogEntry, line: number): number {
  const t = typeof entry.time === "number" ? entry.time : Date.parse(entry.time);
  if (!Number.isFinite(t)) throw new AgentError(`execution log entry ${line + 1}: time "${String(entry.time)}" is not a time`, "input");
  return t;
}

export function minePatterns(log: ExecutionLogEntry[], options: MiningOptions = {}): SequencePattern[] {
  const minSupport = options.minSupport ?? 2;
  const minLength = Math.max(1, options.minLength ?? 2);
  const maxLength = Math.max(minLength, options.maxLength ?? 5);

  // 1. Sessions, each in time order (ties keep log order).
  const sessions = new Map<string, Array<{ agent: string; success: boolean; time: number; line: number }>>();
  log.forEach((entry, line) => {
    if (typeof entry.agent !== "string" || typeof entry.session !== "string") {
      throw new AgentError(`execution log entry ${line + 1}: needs string "session" and "agent"`, "input");
    }
    let calls = sessions.get(entry.session);
    if (!calls) sessions.set(entry.session, (calls = []));
    calls.push({ agent: entry.agent, success: entry.success === true, time: timeOf(entry, line), line });
  });

  // 2. Count contiguous sequences.
  const counters = new Map<string, Counter>();
  let sessionIndex = 0;
  for (const calls of sessions.values()) {
    calls.sort((a, b) => a.time - b.time || a.line - b.line);
    sessionIndex++;
    for (let start = 0; start < calls.length; start++) {
      let allOk = true;
      let key = "";
      for (let len = 1; len <= maxLength && start + len <= calls.length; len++) {
        const call = calls[start + len - 1]!;
        key = len === 1 ? call.agent : `${key}\u0000${call.agent}`;
        allOk &&= call.success;
        if (len < minLength) continue;
        let c = counters.get(key);
        if (!c) counters.set(key, (c = { agents: calls.slice(start, start + len).map((x) => x.agent), support: 0, lastSession: -1, occurrences: 0, successes: 0 }));
        if (c.lastSession !== sessionIndex) {
          c.support++;
          c.lastSession = sessionIndex;
        }
        c.occurrences++;
        if (allOk) c.successes++;
      }
    }
  }

  // 3. Frequent, then closed: a pattern whose one-shorter prefix/suffix has the same support hides that sub-pattern.
  const frequent = [...counters.entries()].filter(([, c]) => c.support >= minSupport);
  const hidden = new Set<string>();
  if (options.closedOnly ?? true) {
    for (const [key, c] of frequent) {
      if (c.agents.length <= minLength) continue;
      const parts = key.split("\u0000");
      for (const sub of [parts.slice(1).join("\u0000"), parts.slice(0, -1).join("\u0000")]) {
        if (counters.get(sub)?.support === c.support) hidden.add(sub);
      }
    }
  }
  return frequent
    .filter(([key]) => !hidden.has(key))
    .map(([, c]): SequencePattern => {
      const successRate = c.occurrences === 0 ? 0 : c.successes / c.occurrences;
      return { agents: c.agents, support: c.support, occurrences: c.occurrences, successes: c.successes, successRate, score: c.support * successRate };
    })
    .sort((a, b) => b.score - a.score || b.agents.length - a.agents.length || a.agents.join().localeCompare(b.agents.join()));
}

/**
 * A suggested workflow for a pattern: one step per agent, in order. Each required input is
 * wired to the nearest earlier step that outputs the same name, else to a workflow input of
 * that name; the last step's outputs are the workflow's.
 */
export function patternToWorkflow(pattern: SequencePattern, registry?: AgentLookup, name?: string): WorkflowAgent {
  const steps: StepSpec[] = [];
  const workflowInputs: Record<string, { help: string }> = {};
  pattern.agents.forEach((agentName, i) => {
    const agent = registry?.get(agentName);
    const inputs: Record<string, unknown> = {};
    for (const input of Object.keys(agent?.inputs ?? {})) {
      let source: string | null = null;
      for (let j = i - 1; j >= 0 && source === null; j--) {
        if (input in (registry?.get(pattern.agents[j]!)?.outputs ?? {})) source = `{{s${j + 1}.${input}}}`;
      }
      if (source === null) {
        workflowInputs[input] ??= { help: `input "${input}" of ${agentName}` };
        source = `{{${input}}}`;
      }
      inputs[input] = source;
    }
    steps.push({ id: `s${i + 1}`, agent: agentName, inputs, ...(i > 0 ? { dependsOn: [`s${i}`] } : {}) });
  });
  const last = registry?.get(pattern.agents[pattern.agents.length - 1]!);
  const returns = Object.fromEntries(Object.keys(last?.outputs ?? {}).map((o) => [o, `{{s${pattern.agents.length}.${o}}}`]));
  return {
    kind: "workflow",
    name: name ?? `mined.${pattern.agents.join("+")}`,
    help: `Mined: ${pattern.agents.join(" → ")} (support ${pattern.support}, success rate ${(pattern.successRate * 100).toFixed(0)}%)`,
    inputs: workflowInputs,
    optionalInputs: {},
    outputs: Object.fromEntries(Object.keys(returns).map((o) => [o, { help: `${o} of the last step` }])),
    steps,
    returns,
  };
}
