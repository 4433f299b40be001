/**
 * Wiring the built-ins to the real engine and datasets layer: `forge.sample` runs on a Forge
 * session (direct, HTTP or queue — they share `request`), `datasets.export` writes with the
 * datasets module. Kept apart from builtins.ts so the agents' core never imports the engine.
 */
import type { ResourceMap, Session, WorkflowFactory as ProgramFactory } from "../forge/index.js";
import type { BuiltinOptions, ForgeSession, SzcpFactory } from "./builtins.js";
import { createDefaultRegistry } from "./builtins.js";
import type { AgentRegistry } from "./registry.js";
import { exportTable } from "../datasets/index.js";

/** A Forge session as `forge.sample` sees it. */
export function forgeSession(session: Session): ForgeSession {
  return {
    async request(config, workflow, options) {
      const result = await session.request(config as never, workflow, options);
      return { extractions: { ...result }, run: result.run };
    },
  };
}

/** The built-in registry on a real session, with programs by name and the Arrow/JSONL exporter. */
export function createForgeRegistry(session: Session, programs: Record<string, ProgramFactory> = {}, extra: BuiltinOptions = {}): AgentRegistry {
  // The agents' step inputs are untyped JSON; the program's factory checks them as resources.
  const factories: Record<string, SzcpFactory> = Object.fromEntries(
    Object.entries(programs).map(([name, factory]) => [name, (args?: Record<string, unknown>) => factory(args as ResourceMap | undefined)]),
  );
  return createDefaultRegistry({ exporter: exportTable, ...extra, session: forgeSession(session), programs: factories });
}
