/**
 * Where is a key in the TOML source? smol-toml reports positions only for syntax errors,
 * so semantic errors (a bad tag, a missing field) need this: a small position scanner
 * over an already-valid TOML document that records the line and column of every table
 * header, key and array element under its document path (`reasoning[0].user_question.type`,
 * `conclusion[0].tags[1][0]`). It is built lazily, only when a problem must be located.
 */

export type PathSegment = string | number;

export interface SourcePosition {
  line: number;
  column: number;
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/** `["reasoning", 0, "user_question"]` → `reasoning[0].user_question`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else {
      const name = BARE_KEY.test(seg) ? seg : JSON.stringify(seg);
      out += out ? `.${name}` : name;
    }
  }
  return out;
}

export class TomlLocator {
  private positions: Map<string, number> | null = null;
  private lineStarts: number[] | null = null;

  constructor(private readonly text: string) {}

  /** Position of exactly this path, or null when the scanner did not see it. */
  find(path: readonly PathSegment[]): SourcePosition | null {
    const at = this.index().get(formatPath(path));
    return at === undefined ? null : this.toPosition(at);
  }

  /** Position of the path, else of its closest recorded ancestor, else line 1 column 1. */
  nearest(path: readonly PathSegment[]): SourcePosition {
    for (let n = path.length; n > 0; n--) {
      const found = this.find(path.slice(0, n));
      if (found) return found;
    }
    return { line: 1, column: 1 };
  }

  private toPosition(offset: number): SourcePosition {
    if (!this.lineStarts) {
      this.lineStarts = [0];
      for (let i = 0; i < this.text.length; i++) if (this.text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
    }
    const starts = this.lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo] + 1 };
  }

  private index(): Map<string, number> {
    if (!this.positions) {
      this.positions = new Map();
      try {
        new PositionScanner(this.text, this.positions).document();
      } catch {
        // The document is valid TOML when we get here; a scanner gap only costs precision.
      }
    }
    return this.positions;
  }
}

/** Recursive-descent walk of valid TOML that records offsets, not values. */
class PositionScanner {
  private i = 0;
  private table: PathSegment[] = [];
  /** Number of `[[x]]` tables seen per array path. */
  private readonly arrayCounts = new Map<string, number>();

  constructor(
    private readonly s: string,
    private readonly out: Map<string, number>,
  ) {}

  private record(path: readonly PathSegment[], offset: number): void {
    const key = formatPath(path);
    if (!this.out.has(key)) this.out.set(key, offset);
  }

  document(): void {
    const s = this.s;
    while (this.i < s.length) {
      this.skipBlank(true);
      if (this.i >= s.length) break;
      const start = this.i;
      if (s[this.i] === "[") {
        const isArray = s[this.i + 1] === "[";
        this.i += isArray ? 2 : 1;
        const segs = this.key();
        const close = s.indexOf("]", this.i);
        if (close < 0) return;
        this.i = close + (isArray ? 2 : 1);
        this.table = this.resolveHeader(segs, isArray, start);
      } else {
        const keyStart = this.i;
        const segs = this.key();
        this.skipInline();
        if (s[this.i] === "=") this.i++;
        const path = [...this.table, ...segs];
        this.record(path, keyStart);
        this.skipInline();
        this.value(path);
      }
      this.skipToLineEnd();
      if (this.i <= start) this.i = start + 1; // always make progress
    }
  }

  private resolveHeader(segs: string[], isArray: boolean, offset: number): PathSegment[] {
    const resolved: PathSegment[] = [];
    segs.forEach((seg, n) => {
      resolved.push(seg);
      const key = formatPath(resolved);
      const last = n === segs.length - 1;
      if (last && isArray) {
        const count = (this.arrayCounts.get(key) ?? 0) + 1;
        this.arrayCounts.set(key, count);
        this.record(resolved, offset);
        resolved.push(count - 1);
      } else {
        const count = this.arrayCounts.get(key);
        if (count !== undefined) resolved.push(count - 1);
      }
    });
    this.record(resolved, offset);
    return resolved;
  }

  /** A dotted key: bare or quoted segments. */
  private key(): string[] {
    const s = this.s;
    const segs: string[] = [];
    for (;;) {
      this.skipInline();
      const c = s[this.i];
      if (c === '"' || c === "'") {
        const start = this.i;
        this.skipString();
        const raw = s.slice(start, this.i);
        segs.push(c === '"' ? safeJson(raw) : raw.slice(1, -1));
      } else {
        const start = this.i;
        while (this.i < s.length && /[A-Za-z0-9_-]/.test(s[this.i])) this.i++;
        segs.push(s.slice(start, this.i));
        if (this.i === start) this.i++;
      }
      this.skipInline();
      if (s[this.i] === ".") {
        this.i++;
        continue;
      }
      return segs;
    }
  }

  private value(path: PathSegment[]): void {
    const s = this.s;
    const c = s[this.i];
    if (c === '"' || c === "'") return this.skipString();
    if (c === "[") {
      this.i++;
      for (let n = 0; this.i < s.length; ) {
        this.skipBlank(true);
        if (s[this.i] === "]") {
          this.i++;
          return;
        }
        if (s[this.i] === ",") {
          this.i++;
          continue;
        }
        this.record([...path, n], this.i);
        this.value([...path, n]);
        n++;
      }
      return;
    }
    if (c === "{") {
      this.i++;
      while (this.i < s.length) {
        this.skipInline();
        if (s[this.i] === "}") {
          this.i++;
          return;
        }
        if (s[this.i] === ",") {
          this.i++;
          continue;
        }
        const keyStart = this.i;
        const segs = this.key();
        this.skipInline();
        if (s[this.i] === "=") this.i++;
        this.skipInline();
        this.record([...path, ...segs], keyStart);
        this.value([...path, ...segs]);
      }
      return;
    }
    // Scalar (number, boolean, date): up to a delimiter.
    const start = this.i;
    while (this.i < s.length && !",]}\n#".includes(s[this.i])) this.i++;
    if (this.i === start) this.i++;
  }

  private skipString(): void {
    const s = this.s;
    const q = s[this.i];
    if (s.startsWith(q.repeat(3), this.i)) {
      let j = this.i + 3;
      for (;;) {
        const end = s.indexOf(q.repeat(3), j);
        if (end < 0) {
          this.i = s.length;
          return;
        }
        if (q === '"' && isEscaped(s, end)) {
          j = end + 1;
          continue;
        }
        // Up to two quotes may sit right before the closing delimiter.
        let stop = end + 3;
        while (s[stop] === q && stop < end + 5) stop++;
        this.i = stop;
        return;
      }
    }
    let j = this.i + 1;
    while (j < s.length && s[j] !== q && s[j] !== "\n") j += q === '"' && s[j] === "\\" ? 2 : 1;
    this.i = j + 1;
  }

  private skipInline(): void {
    while (this.s[this.i] === " " || this.s[this.i] === "\t") this.i++;
  }

  private skipBlank(newlines: boolean): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i];
      if (c === " " || c === "\t" || c === "\r" || (newlines && c === "\n")) this.i++;
      else if (c === "#") while (this.i < s.length && s[this.i] !== "\n") this.i++;
      else return;
    }
  }

  private skipToLineEnd(): void {
    const s = this.s;
    while (this.i < s.length && s[this.i] !== "\n") this.i++;
  }
}

function isEscaped(s: string, at: number): boolean {
  let backslashes = 0;
  for (let k = at - 1; k >= 0 && s[k] === "\\"; k--) backslashes++;
  return backslashes % 2 === 1;
}

function safeJson(raw: string): string {
  try {
    return JSON.parse(raw) as string;
  } catch {
    return raw.slice(1, -1);
  }
}
