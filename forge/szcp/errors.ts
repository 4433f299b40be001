import { ForgeError } from "../errors.js";

/** Malformed SZCP: names the JSON path of the bad field (`$.zones[3].next`) and what is wrong. */
export interface SzcpIssue {
  /** JSON path, e.g. `$.zones[3].next`. */
  path: string;
  message: string;
  /** The limit the field is over, when that is what is wrong (forge/szcp/limits.ts). */
  limit?: { name: string; value: number };
}

export class SzcpError extends ForgeError {
  readonly code: string = "szcp_invalid";
  /** Path of the first issue. */
  readonly path: string;
  override readonly where: string;
  readonly issues: readonly SzcpIssue[];
  /** The limit of the first issue, when it is over one. */
  readonly limit: { name: string; value: number } | undefined;

  constructor(issues: SzcpIssue[]) {
    const first = issues[0];
    const more = issues.length > 1 ? `\n${issues.slice(1, 10).map((i) => `  also at ${i.path}: ${i.message}`).join("\n")}${issues.length > 10 ? `\n  … ${issues.length - 10} more` : ""}` : "";
    super(`invalid SZCP workflow at ${first.path}: ${first.message}${more}`);
    this.name = "SzcpError";
    this.path = first.path;
    this.where = first.path;
    this.issues = issues;
    this.limit = first.limit;
  }
}

export function jsonPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "$";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (typeof seg === "string" && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(seg)) out += `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}
