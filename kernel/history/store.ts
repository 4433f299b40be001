/**
 * Cell history kept in SQLite (like IPython's): every kernel start is a new session; each
 * stored execution is (session, line = execution_count, source, text/plain output or null).
 * Several kernels may share the file: sessions come from an AUTOINCREMENT table.
 */
import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import { ForgeError } from "../../forge/errors.js";

/** A history_request the store cannot answer as asked; `field` names the content field. */
export class HistoryRequestError extends ForgeError {
  readonly code: string = "history_request_invalid";
  override readonly name = "HistoryRequestError";
  override readonly where: string;
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`history_request content.${field}: ${reason}`);
    this.where = `content.${field}`;
  }
}

/** [session, line, source] or, with output, [session, line, [source, output]]. */
export type HistoryEntry = [number, number, string] | [number, number, [string, string | null]];

export interface HistoryQuery {
  output: boolean;
  hist_access_type: "tail" | "range" | "search";
  /** range: session number; 0 or negative counts back from the current session. */
  session?: number;
  start?: number;
  stop?: number;
  n?: number;
  pattern?: string;
  unique?: boolean;
}

/** Where history lives unless FORGE_KERNEL_HISTORY says otherwise (":memory:" keeps it in memory). */
export function defaultHistoryPath(): string {
  const fromEnv = process.env.FORGE_KERNEL_HISTORY;
  if (fromEnv) return fromEnv;
  const data = process.env.XDG_DATA_HOME ?? join(homedir(), ".local", "share");
  return join(data, "forge-kernel", "history.sqlite");
}

/** Characters of a search pattern (`history_request`'s `pattern`): matching costs pattern × source length. */
export const MAX_HISTORY_PATTERN_LENGTH = 1024;

/** A compiled glob: `test(text)` says whether it matches the whole text. */
export interface Glob {
  test(text: string): boolean;
}

/**
 * IPython's search patterns are globs (`*`, `?`, `[…]`, `[!…]`) matched against the whole
 * source. Matched by the two-pointer wildcard algorithm (every item but `*` is one UTF-16
 * unit), in time pattern × text: a regular expression of `[\s\S]*` runs backtracked
 * exponentially, and `*a*a*a*a*a*a*a*a*a*a*b` against a cell of 40 `a`s held the kernel's main
 * process (and so every reply, interrupts included) for minutes. A pattern longer than
 * MAX_HISTORY_PATTERN_LENGTH is an error.
 */
export function compileGlob(pattern: string): Glob {
  if (pattern.length > MAX_HISTORY_PATTERN_LENGTH)
    throw new HistoryRequestError("pattern", `the search pattern has ${pattern.length} characters, over MAX_HISTORY_PATTERN_LENGTH = ${MAX_HISTORY_PATTERN_LENGTH}`);
  const STAR = null;
  const items: Array<((unit: number) => boolean) | typeof STAR> = [];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    const close = ch === "[" ? classEnd(pattern, i) : -1; // −1: not a class (a literal "[")
    if (ch === "*") {
      if (items.length === 0 || items[items.length - 1] !== STAR) items.push(STAR); // ** is *
    } else if (ch === "?") items.push(() => true);
    else if (close >= 0) {
      items.push(characterClass(pattern.slice(i + 1, close)));
      i = close;
    } else {
      const unit = pattern.charCodeAt(i);
      items.push((u) => u === unit);
    }
  }
  return {
    test(text: string): boolean {
      let p = 0;
      let t = 0;
      let starItem = -1;
      let starText = 0;
      while (t < text.length) {
        const item = items[p];
        if (p < items.length && item !== STAR && item!(text.charCodeAt(t))) {
          p++;
          t++;
        } else if (p < items.length && item === STAR) {
          starItem = p++;
          starText = t;
        } else if (starItem >= 0) {
          p = starItem + 1;
          t = ++starText;
        } else return false;
      }
      while (p < items.length && items[p] === STAR) p++;
      return p === items.length;
    },
  };
}

/** The `]` closing the class opened at `open`, −1 when none; as in Python's fnmatch, a `]` first (after `!`) is a member. */
function classEnd(pattern: string, open: number): number {
  let j = open + 1;
  if (pattern[j] === "!") j++;
  if (pattern[j] === "]") j++;
  return pattern.indexOf("]", j);
}

/** `[abc]`, `[a-z]`, `[!…]` (or `[^…]`): one UTF-16 unit in (or not in) the listed ones. */
function characterClass(body: string): (unit: number) => boolean {
  const negated = body.startsWith("!") || body.startsWith("^");
  const members = negated ? body.slice(1) : body;
  const ranges: Array<[number, number]> = [];
  for (let i = 0; i < members.length; i++) {
    if (members[i + 1] === "-" && i + 2 < members.length) {
      ranges.push([members.charCodeAt(i), members.charCodeAt(i + 2)]);
      i += 2;
    } else ranges.push([members.charCodeAt(i), members.charCodeAt(i)]);
  }
  return (unit) => ranges.some(([lo, hi]) => unit >= lo && unit <= hi) !== negated;
}

interface Row {
  session: number;
  line: number;
  source: string;
  output: string | null;
}

export class HistoryStore {
  readonly session: number;
  private readonly db: Database.Database;

  constructor(path: string = defaultHistoryPath()) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    // History is a convenience, not a ledger: no fsync per cell.
    this.db.pragma("synchronous = NORMAL");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS sessions (session INTEGER PRIMARY KEY AUTOINCREMENT, started TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS history (
        session INTEGER NOT NULL, line INTEGER NOT NULL, source TEXT NOT NULL, output TEXT,
        PRIMARY KEY (session, line));`);
    this.session = Number(this.db.prepare("INSERT INTO sessions (started) VALUES (?)").run(new Date().toISOString()).lastInsertRowid);
  }

  record(line: number, source: string): void {
    this.db.prepare("INSERT OR REPLACE INTO history (session, line, source, output) VALUES (?, ?, ?, NULL)").run(this.session, line, source);
  }

  recordOutput(line: number, output: string): void {
    this.db.prepare("UPDATE history SET output = ? WHERE session = ? AND line = ?").run(output, this.session, line);
  }

  /** The entries `q` asks for; a field of the wrong type is a HistoryRequestError naming it (was SQLite's "Too few parameter values"). */
  query(q: HistoryQuery): HistoryEntry[] {
    if (q === null || typeof q !== "object") throw new HistoryRequestError("hist_access_type", "the content must be an object");
    if (!["tail", "range", "search"].includes(q.hist_access_type)) throw new HistoryRequestError("hist_access_type", `must be "tail", "range" or "search", got ${JSON.stringify(q.hist_access_type)}`);
    for (const field of ["session", "start", "stop", "n"] as const) {
      const value: unknown = q[field];
      if (value !== undefined && value !== null && !Number.isSafeInteger(value)) throw new HistoryRequestError(field, `must be an integer, got ${JSON.stringify(value)?.slice(0, 100)}`);
    }
    if (q.pattern !== undefined && q.pattern !== null && typeof q.pattern !== "string") throw new HistoryRequestError("pattern", `must be a string, got ${JSON.stringify(q.pattern)?.slice(0, 100)}`);
    const rows = this.rows(q);
    return rows.map((r): HistoryEntry => (q.output ? [r.session, r.line, [r.source, r.output]] : [r.session, r.line, r.source]));
  }

  private rows(q: HistoryQuery): Row[] {
    const all = "SELECT session, line, source, output FROM history";
    if (q.hist_access_type === "tail") {
      const n = q.n ?? 10;
      const rows = this.db.prepare(`${all} ORDER BY session DESC, line DESC LIMIT ?`).all(n) as Row[];
      return rows.reverse();
    }
    if (q.hist_access_type === "range") {
      const session = (q.session ?? 0) <= 0 ? this.session + (q.session ?? 0) : q.session!;
      const start = q.start ?? 1;
      const stop = q.stop ?? Number.MAX_SAFE_INTEGER;
      return this.db.prepare(`${all} WHERE session = ? AND line >= ? AND line < ? ORDER BY line`).all(session, start, stop) as Row[];
    }
    const pattern = compileGlob(q.pattern ?? "*");
    const matching = (this.db.prepare(`${all} ORDER BY session, line`).all() as Row[]).filter((r) => pattern.test(r.source));
    let result = matching;
    if (q.unique) {
      // Keep the latest occurrence of each source.
      const seen = new Set<string>();
      result = [];
      for (let i = matching.length - 1; i >= 0; i--) {
        if (seen.has(matching[i]!.source)) continue;
        seen.add(matching[i]!.source);
        result.unshift(matching[i]!);
      }
    }
    return q.n !== undefined && q.n > 0 ? result.slice(-q.n) : result;
  }

  close(): void {
    this.db.close();
  }
}
