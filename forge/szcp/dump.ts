/**
 * Readable views of a compiled workflow for debugging: a text listing of zones with their
 * next/jump targets, and the same graph as Mermaid or Graphviz DOT.
 */
import { END, type SzcpWorkflow, type SzcpZone } from "./types.js";

const target = (t: number): string => (t === END ? "END" : String(t));

function zoneName(z: SzcpZone): string {
  return `${z.sequence}[${z.block}].${z.zone}`;
}

function preview(text: string, width: number): string {
  const quoted = JSON.stringify(text);
  return quoted.length <= width ? quoted : quoted.slice(0, width - 2) + "…\"";
}

function loopNote(z: SzcpZone): string {
  if (!z.loop) return "";
  const bounds = [z.loop.min !== null ? `min ${z.loop.min}` : "", z.loop.max !== null ? `max ${z.loop.max}` : ""].filter(Boolean).join(" ");
  return `loop#${z.loop.counter}${bounds ? ` ${bounds}` : ""}`;
}

/** One line per zone: id, provenance, nominal and jump targets, loop/tool/tag notes, text preview. */
export function dumpWorkflow(w: SzcpWorkflow, options: { textWidth?: number } = {}): string {
  const width = options.textWidth ?? 48;
  const c = w.config;
  const escape = c.escape ? (c.escape.kind === "single" ? `single ${c.escape.token}` : `pair ${c.escape.open} … ${c.escape.close}`) : "none";
  const lines = [
    `SZCP v${w.version}: ${w.zones.length} zones, ${w.counters} loop counter${w.counters === 1 ? "" : "s"}${w.meta.source ? `, source ${w.meta.source}` : ""}`,
    `zones ${c.zoneTokens.join(" → ")}; control ${c.controlToken}; escape ${escape}; tools ${c.tools.join(", ") || "none"}`,
    `extractions: ${w.extractions.map((e) => `${e.name} = ${e.tags.join(" | ")}`).join("; ") || "none"}`,
    "",
  ];
  const rows = w.zones.map((z, id) => {
    const notes: string[] = [];
    if (z.jump !== null) notes.push(`jump → ${target(z.jump)}`);
    if (z.next !== END && z.next <= id) notes.push("(back edge)");
    const loop = loopNote(z);
    if (loop) notes.push(loop);
    if (z.capture) notes.push(`capture→${z.capture}`);
    if (z.feed) notes.push(`feed←${z.feed}`);
    if (z.tags.length) notes.push(`tags ${z.tags.join(",")}`);
    return [String(id), zoneName(z) + (z.repetition ? ` rep ${z.repetition}` : ""), `next → ${target(z.next)}`, notes.join("  "), `gen≤${z.maxGen}`, preview(z.text, width)];
  });
  const header = ["id", "zone", "next", "jump / notes", "cap", "text"];
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((r) => r[col].length)));
  const fmt = (r: string[]): string => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]))).join("  ").trimEnd();
  lines.push(fmt(header), ...rows.map(fmt));
  return lines.join("\n") + "\n";
}

function escapeLabel(s: string): string {
  return s.replace(/"/g, "#quot;");
}

/** Mermaid flowchart: solid arrows are nominal edges, dotted arrows are jumps. */
export function workflowToMermaid(w: SzcpWorkflow): string {
  const out = ["flowchart TD"];
  let usesEnd = false;
  const ref = (t: number): string => {
    if (t === END) {
      usesEnd = true;
      return "END";
    }
    return `z${t}`;
  };
  w.zones.forEach((z, id) => out.push(`  z${id}["${escapeLabel(`${id}: ${zoneName(z)}`)}"]`));
  w.zones.forEach((z, id) => {
    const back = z.next !== END && z.next <= id;
    out.push(`  z${id} -->${back ? "|back|" : ""} ${ref(z.next)}`);
    if (z.jump !== null) {
      const loop = loopNote(z);
      out.push(`  z${id} -.->|${escapeLabel(loop ? `jump: exit ${loop}` : "jump")}| ${ref(z.jump)}`);
    }
  });
  if (usesEnd) out.push("  END((END))");
  return out.join("\n") + "\n";
}

/** Graphviz DOT: solid edges nominal, dashed edges jumps, back edges labelled. */
export function workflowToDot(w: SzcpWorkflow): string {
  const q = (s: string): string => JSON.stringify(s);
  const out = ["digraph workflow {", '  node [shape=box, fontname="monospace"];'];
  let usesEnd = false;
  const ref = (t: number): string => {
    if (t === END) {
      usesEnd = true;
      return "END";
    }
    return `z${t}`;
  };
  w.zones.forEach((z, id) => out.push(`  z${id} [label=${q(`${id}: ${zoneName(z)}${z.tags.length ? `\n${z.tags.join(",")}` : ""}`)}];`));
  w.zones.forEach((z, id) => {
    const back = z.next !== END && z.next <= id;
    out.push(`  z${id} -> ${ref(z.next)}${back ? ' [label="back", constraint=false]' : ""};`);
    if (z.jump !== null) {
      const loop = loopNote(z);
      out.push(`  z${id} -> ${ref(z.jump)} [style=dashed, label=${q(loop ? `jump (${loop})` : "jump")}];`);
    }
  });
  if (usesEnd) out.push('  END [shape=doublecircle, label="END"];');
  out.push("}");
  return out.join("\n") + "\n";
}
