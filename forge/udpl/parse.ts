/**
 * UDPL entry points: a string, a file, or a folder of files (exactly one with [config]).
 * Stages: TOML syntax (toml.ts) → [config] (config.ts) → each sequence's blocks
 * (blocks.ts) → cross-checks between config.sequences and the sequences found.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ZcpSequence } from "../zcp/types.js";
import { validateSequence } from "./blocks.js";
import { validateConfig } from "./config.js";
import { cut, LintContext, type WarningOverflow } from "./context.js";
import { formatUdplProblem, UdplError, type UdplProblem, type UdplWarning } from "./errors.js";
import { UDPL_LIMITS, limitLabel } from "./limits.js";
import { parseTomlDocument } from "./toml.js";
import type { UdplParseResult } from "./types.js";

export interface ParseUdplOptions {
  /** Name used in error messages (default "<text>"). */
  file?: string;
}

interface SourceDocument {
  file: string;
  doc: Record<string, unknown>;
  ctx: LintContext;
}

/** Parses one UDPL document. Throws `UdplError` on the first problem; warnings come back in the result. */
export function parseUdpl(text: string, options: ParseUdplOptions = {}): UdplParseResult {
  const file = options.file ?? "<text>";
  const warnings: UdplWarning[] = [];
  const overflow: WarningOverflow = { dropped: 0 };
  const doc = parseTomlDocument(text, file);
  return assemble([{ file, doc, ctx: new LintContext(file, text, warnings, overflow) }], warnings, overflow);
}

/** Reads and parses one UDPL file (synchronously). */
export function parseUdplFile(path: string): UdplParseResult {
  return parseUdpl(readSource(path), { file: path });
}

/** Parses every `.toml` file of a folder (not recursive) as one UDPL program; exactly one file holds [config]. */
export function parseUdplFolder(dir: string): UdplParseResult {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error("not a directory");
    names = readdirSync(dir).filter((n) => n.endsWith(".toml")).sort();
  } catch (err) {
    throw new UdplError({ file: dir, line: 0, column: 0, message: `cannot read UDPL folder: ${(err as Error).message}` });
  }
  if (names.length === 0) {
    throw new UdplError({ file: dir, line: 0, column: 0, message: "folder holds no .toml files", expected: "at least one .toml file", found: "none" });
  }
  const warnings: UdplWarning[] = [];
  const overflow: WarningOverflow = { dropped: 0 };
  const sources = names.map((name) => {
    const file = join(dir, name);
    const text = readSource(file);
    return { file, doc: parseTomlDocument(text, file), ctx: new LintContext(file, text, warnings, overflow) };
  });
  return assemble(sources, warnings, overflow);
}

function readSource(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UdplError({ file: path, line: 0, column: 0, message: `cannot read UDPL file (${code ?? (err as Error).message})` });
  }
}

function assemble(sources: SourceDocument[], warnings: UdplWarning[], overflow: WarningOverflow): UdplParseResult {
  const withConfig = sources.filter((s) => s.doc.config !== undefined);
  if (withConfig.length !== 1) {
    const first = sources[0];
    const many = withConfig.length > 1;
    const where = many ? withConfig[1] : first;
    throw new UdplError({
      ...where.ctx.problem(many ? ["config"] : [], many ? "more than one file holds [config]" : "no [config] table"),
      expected: "exactly one [config] table",
      found: many ? withConfig.map((s) => s.file).join(", ") : sources.length > 1 ? "none in any file" : "none",
      hint: many ? undefined : "start the file with [config] and its zone_tokens, sequences, control_token …",
    });
  }
  const configSource = withConfig[0];
  const config = validateConfig(configSource.doc.config, configSource.ctx);
  const listedNames = new Set(config.sequences);
  precountZones(sources, config.zoneTokens.length - 1);
  // Zones of every sequence so far, against UDPL_LIMITS.maxZones (repeats multiply them).
  const budget = { zones: 0 };

  // Null prototype: sequence names are user data ("constructor" must not find Object.prototype).
  const sequences: Record<string, ZcpSequence> = Object.create(null);
  for (const source of sources) {
    for (const [name, value] of Object.entries(source.doc)) {
      if (name === "config") continue;
      const listed = listedNames.has(name);
      const earlier = sequences[name];
      if (earlier) {
        source.ctx.fail([name], `sequence "${cut(name)}" is defined in two files`, { sequence: name, expected: "one definition", found: `${earlier.file} and ${source.file}` });
      }
      sequences[name] = validateSequence(name, value, config, source.ctx, listed, budget);
      if (!listed) {
        source.ctx.warn([name], `sequence "${cut(name)}" is not listed in [config].sequences; it is accepted as a sequence`, {
          sequence: name,
          hint: `add "${cut(name)}" to sequences in [config] to silence this`,
        });
      }
    }
  }
  config.sequences.forEach((name, i) => {
    if (!sequences[name]) {
      configSource.ctx.fail(["config", "sequences", i], `sequence "${cut(name)}" is listed in [config].sequences but has no [[${cut(name)}]] blocks`, {
        sequence: name,
        expected: `at least one [[${cut(name)}]] table`,
        found: "none",
      });
    }
  });
  if (overflow.dropped > 0) {
    // Past UDPL_LIMITS.maxWarnings only a count is kept; this warning says so.
    const reason = `${overflow.dropped} more warning${overflow.dropped === 1 ? "" : "s"} left out (${limitLabel("maxWarnings")} are kept)`;
    const problem: UdplProblem = { file: configSource.file, line: 0, column: 0, message: reason };
    warnings.push({ ...problem, message: formatUdplProblem(problem), reason, severity: "warning" });
  }
  return { sequences, config, warnings };
}

/**
 * Counts the zones every block will make (repetitions × zones per block) before any is made,
 * and fails at the block that crosses `UDPL_LIMITS.maxZones`: a small file of many
 * `repeats = 10000` blocks is refused in time proportional to its size, not to the zones it
 * asks for. Fields that are malformed or over their own limit count as their limit here and
 * are reported by the block's validation.
 */
function precountZones(sources: SourceDocument[], zonesPerBlock: number): void {
  let zones = 0;
  for (const source of sources) {
    for (const [name, blocks] of Object.entries(source.doc)) {
      if (name === "config" || !Array.isArray(blocks)) continue;
      for (let i = 0; i < blocks.length; i++) {
        const block: unknown = blocks[i];
        if (typeof block !== "object" || block === null) continue;
        const { repeats, tagset } = block as { repeats?: unknown; tagset?: unknown };
        const asked = Array.isArray(tagset) ? tagset.length : typeof repeats === "number" && repeats >= 1 ? repeats : 1;
        zones += Math.min(asked, UDPL_LIMITS.maxRepeats) * zonesPerBlock;
        if (zones > UDPL_LIMITS.maxZones) {
          const key = Array.isArray(tagset) ? "tagset" : repeats !== undefined ? "repeats" : undefined;
          source.ctx.fail(key ? [name, i, key] : [name, i], `the sequences make more than ${limitLabel("maxZones")} zones (repetitions counted); this block brings them to ${zones}`, {
            sequence: name,
            block: i,
            expected: `at most ${UDPL_LIMITS.maxZones} zones in all`,
            found: `${zones}`,
            hint: "fewer repeats or blocks; the UDPL limits (forge/udpl/limits.ts) bound what a file may make the parser allocate",
          });
        }
      }
    }
  }
}
