/**
 * RZCP → SZCP: fill every placeholder by sampling its resource, and copy the graph's edges
 * into plain JSON. Called once per workflow by the factory, so samplers draw afresh each
 * time (that is how feedback reaches the next batch).
 */
import { ResourceError } from "../resources/errors.js";
import { toResource } from "../resources/resources.js";
import type { Resource, ResourceMap } from "../resources/types.js";
import { SZCP_FORMAT, SZCP_VERSION, type SzcpWorkflow, type SzcpZone } from "../szcp/types.js";
import type { PlaceholderSpec } from "../zcp/types.js";
import { SfcsError, type CallSite } from "./errors.js";
import type { RzcpGraph, RzcpNode } from "./types.js";

const UNKNOWN_SITE: CallSite = { call: "factory(args)", location: "unknown" };

/** `site` is the factory call, named in errors about the factory's arguments. */
export function lowerGraph(graph: RzcpGraph, factoryArgs: ResourceMap = {}, site: CallSite = UNKNOWN_SITE): SzcpWorkflow {
  const argumentResources = resolveFactoryArguments(graph, factoryArgs, site);
  const zones: SzcpZone[] = graph.nodes.map((node) => {
    const { zone } = node;
    let text = "";
    for (const part of zone.parts) text += part.kind === "literal" ? part.text : fill(part.spec, node, argumentResources);
    return {
      text,
      advance: zone.advance,
      next: node.next,
      jump: node.jump,
      loop: node.loop ? { ...node.loop } : null,
      tags: zone.tags.slice(),
      maxGen: zone.maxGen,
      capture: node.capture,
      feed: node.feed,
      sequence: zone.sequence,
      block: zone.block,
      zone: zone.zone,
      repetition: zone.repetition,
      ...(zone.constraint ? { constraint: zone.constraint } : {}),
    };
  });
  return {
    format: SZCP_FORMAT,
    version: SZCP_VERSION,
    config: {
      ...graph.config,
      zoneTokens: graph.config.zoneTokens.slice(),
      tokenizerOverride: { ...graph.config.tokenizerOverride },
      tools: graph.config.tools.slice(),
    },
    zones,
    counters: graph.counters,
    extractions: graph.extractions.map((e) => ({ name: e.name, tags: e.tags.slice() })),
    meta: { ...graph.meta },
  };
}

function resolveFactoryArguments(graph: RzcpGraph, factoryArgs: ResourceMap, site: CallSite): Map<string, Resource> {
  if (typeof factoryArgs !== "object" || factoryArgs === null) {
    throw new SfcsError([{ message: `the workflow factory takes an object of arguments, got ${typeof factoryArgs}`, site }]);
  }
  const out = new Map<string, Resource>();
  const unknown = Object.keys(factoryArgs).filter((k) => !graph.argumentNames.includes(k));
  if (unknown.length) {
    const expected = graph.argumentNames.length ? graph.argumentNames.join(", ") : "none (the program has no argument placeholders)";
    throw new SfcsError([
      { message: `unknown workflow argument ${unknown.map((k) => JSON.stringify(k)).join(", ")}; expected: ${expected}`, site },
    ]);
  }
  for (const [name, value] of Object.entries(factoryArgs)) {
    try {
      out.set(name, toResource(value, `workflow argument "${name}"`));
    } catch (err) {
      throw new SfcsError([{ message: (err as Error).message, site }]);
    }
  }
  return out;
}

function fill(spec: PlaceholderSpec, node: RzcpNode, argumentResources: Map<string, Resource>): string {
  const where = `placeholder {${spec.placeholder}} of sequence "${node.zone.sequence}" (block ${node.zone.block})`;
  let resource: Resource | undefined;
  if (spec.type === "standard") resource = node.programResources[spec.resource];
  else if (spec.type === "custom") resource = node.args[spec.resource];
  else resource = argumentResources.get(spec.resource);
  if (!resource) {
    const how =
      spec.type === "argument"
        ? `pass it to the workflow factory: factory({ ${spec.resource}: … })`
        : spec.type === "custom"
          ? `pass it to the call: { ${spec.resource}: … }`
          : `give it to newProgram's resources`;
    throw new SfcsError([{ message: `${where} needs resource "${spec.resource}" (${spec.type}); ${how}`, site: node.site }]);
  }
  try {
    const value = resource.sample(spec.arguments);
    if (typeof value !== "string") throw new ResourceError(`resource returned ${typeof value}, expected a string`);
    return value;
  } catch (err) {
    if (err instanceof ResourceError) throw new ResourceError(`${where}, resource "${spec.resource}": ${err.message}`);
    throw err;
  }
}
