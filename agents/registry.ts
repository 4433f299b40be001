/**
 * The registry: agents by name. The executor resolves step agents here and the CLI turns
 * any registered agent into a command. `loadAgentModule` adds user agents from a module
 * that exports `agents` (an array), a default array, or a default `(registry) => void` — or
 * from a .toml / .json agent definition file (definition.ts).
 */
import { pathToFileURL } from "node:url";
import { extname, resolve } from "node:path";
import { loadAgentFile } from "./definition.js";
import { AgentError } from "./errors.js";
import type { Agent, AgentLookup } from "./types.js";

export class AgentRegistry implements AgentLookup {
  private readonly agents = new Map<string, Agent>();

  constructor(agents: Agent[] = []) {
    for (const a of agents) this.register(a);
  }

  register(agent: Agent, options: { replace?: boolean } = {}): this {
    if (this.agents.has(agent.name) && !options.replace) {
      throw new AgentError(`an agent named "${agent.name}" is already registered`, "definition");
    }
    this.agents.set(agent.name, agent);
    return this;
  }

  get(name: string): Agent | undefined {
    return this.agents.get(name);
  }

  require(name: string): Agent {
    const agent = this.agents.get(name);
    if (!agent) throw new AgentError(`unknown agent "${name}" (registered: ${this.names().join(", ")})`, "unknown-agent");
    return agent;
  }

  has(name: string): boolean {
    return this.agents.has(name);
  }

  names(): string[] {
    return [...this.agents.keys()].sort();
  }

  list(): Agent[] {
    return this.names().map((n) => this.agents.get(n)!);
  }
}

function isAgent(value: unknown): value is Agent {
  return !!value && typeof value === "object" && typeof (value as Agent).name === "string" &&
    ["proc", "template", "workflow"].includes((value as Agent).kind);
}

/** Import a module of user agents (a .ts file works under tsx; .toml/.json are agent definitions) into `registry`. */
export async function loadAgentModule(registry: AgentRegistry, path: string): Promise<void> {
  if ([".toml", ".json"].includes(extname(path))) {
    for (const agent of loadAgentFile(path)) registry.register(agent, { replace: true });
    return;
  }
  const url = pathToFileURL(resolve(path)).href;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw new AgentError(`cannot load agent module "${path}": ${(error as Error).message}`, "module");
  }
  const exported = mod.agents ?? mod.default;
  if (typeof exported === "function") {
    await (exported as (r: AgentRegistry) => unknown)(registry);
  } else if (Array.isArray(exported)) {
    exported.forEach((a, i) => {
      if (!isAgent(a)) throw new AgentError(`agent module "${path}": entry ${i} of its agents is not an agent`, "module");
      registry.register(a, { replace: true });
    });
  } else {
    throw new AgentError(`agent module "${path}" exports neither \`agents\` (an array) nor a default`, "module");
  }
}
