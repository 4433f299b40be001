/**
 * Flow-control errors name the SFCS call site: the line of the user's program that made the
 * call (`program.loop("control")` at notebook.ts:12:9) and what is wrong there. SFCS raises
 * them when a program is recorded and compiled, RZCP lowering when a resource fails at
 * sampling time; they live here, in the lower stage, so that RZCP needs nothing from SFCS
 * (forge/sfcs/errors.ts re-exports them).
 */
import { ForgeError } from "../errors.js";

export interface CallSite {
  /** The call as written, e.g. `program.run("reasoning")`. */
  call: string;
  /** `file:line:column` of the user's code that made it ("unknown" when not found). */
  location: string;
}

export interface SfcsProblem {
  message: string;
  site: CallSite;
}

export function formatSite(site: CallSite): string {
  return `${site.call} at ${site.location}`;
}

export class SfcsError extends ForgeError {
  readonly code: string = "sfcs_invalid";
  readonly problems: readonly SfcsProblem[];
  /** The first problem's call site. */
  readonly site: CallSite;
  override readonly where: string;

  constructor(problems: SfcsProblem[], headline = "the SFCS program is invalid") {
    const lines = problems.map((p) => `  - ${formatSite(p.site)}: ${p.message}`);
    super(problems.length === 1 ? `${formatSite(problems[0].site)}: ${problems[0].message}` : `${headline} (${problems.length} problems):\n${lines.join("\n")}`);
    this.name = "SfcsError";
    this.problems = problems;
    this.site = problems[0].site;
    this.where = formatSite(problems[0].site);
  }
}
