/**
 * What the studio edits: agent files as data (the same shape `agents/definition.ts` reads), and
 * the catalog of registered agents the editor offers. Browser-safe: no Node imports.
 */

export type PortType = "string" | "number" | "boolean" | "json";

/** One port as written in an agent file. */
export interface PortDef {
  help?: string;
  type?: PortType;
  default?: unknown;
}

/** One step as written in an agent file (agents/types.ts StepSpec). */
export interface StepDef {
  id: string;
  agent: string;
  inputs?: Record<string, unknown>;
  dependsOn?: string[];
  condition?: string;
  retry?: Record<string, unknown>;
  timeoutSeconds?: number;
  onFailure?: "abort" | "skip" | { fallback: string } | { compensate: string };
}

/** A workflow or template agent as written in a `.toml` / `.json` file (kind defaults to workflow). */
export interface AgentDoc {
  kind?: "workflow" | "template";
  name: string;
  help?: string;
  inputs?: Record<string, PortDef>;
  optionalInputs?: Record<string, PortDef>;
  outputs?: Record<string, PortDef>;
  steps?: StepDef[];
  returns?: Record<string, string>;
  concurrency?: number;
  template?: string;
}

/** A port of a registered agent, as the catalog shows it. */
export interface PortInfo {
  name: string;
  help: string;
}

/** A registered agent as the editor sees it (palette, dropdowns, tooltips). */
export interface AgentInfo {
  name: string;
  kind: "proc" | "template" | "workflow";
  help: string;
  inputs: PortInfo[];
  optionalInputs: PortInfo[];
  outputs: PortInfo[];
  /** The file (relative to the studio's folder) that defines it; absent for built-ins. */
  file?: string;
}

export type Catalog = ReadonlyMap<string, AgentInfo>;

export function catalogOf(list: readonly AgentInfo[]): Catalog {
  return new Map(list.map((a) => [a.name, a]));
}
