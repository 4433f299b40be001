/** Malformed SZCP: names the JSON path of the bad field (`$.zones[3].next`) and what is wrong. */
export interface SzcpIssue {
  /** JSON path, e.g. `$.zones[3].next`. */
  path: string;
  message: string;
}

export class SzcpError extends Error {
  /** Path of the first issue. */
  readonly path: string;
  readonly issues: readonly SzcpIssue[];

  constructor(issues: SzcpIssue[]) {
    const first = issues[0];
    const more = issues.length > 1 ? `\n${issues.slice(1, 10).map((i) => `  also at ${i.path}: ${i.message}`).join("\n")}${issues.length > 10 ? `\n  … ${issues.length - 10} more` : ""}` : "";
    super(`invalid SZCP workflow at ${first.path}: ${first.message}${more}`);
    this.name = "SzcpError";
    this.path = first.path;
    this.issues = issues;
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
