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

/**
 * Line starts of a text, built once (lazily), so that each offset → line/column is a binary
 * search: O(log lines) per position instead of a rescan from the start.
 */
export class LineIndex {
  private starts: number[] | null = null;

  constructor(private readonly text: string) {}

  /** 1-based line and column of an offset (clamped to the text). */
  position(offset: number): SourcePosition {
    if (!this.starts) {
      const starts = [0];
      for (let i = this.text.indexOf("\n"); i >= 0; i = this.text.indexOf("\n", i + 1)) starts.push(i + 1);
      this.starts = starts;
    }
    const starts = this.starts;
    const at = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= at) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: at - starts[lo] + 1 };
  }
}

/**
 * The document paths seen, as a trie: node 0 is the document; a child is found by its
 * parent's id and its segment (a number for an array index, a string for a key; `0` and
 * `"0"` differ, as `a[0]` and `a.0` do). Per node: the offset where it was first seen (-1:
 * only passed through) and, for an array of tables, how many `[[x]]` headers it has had. A
 * trie, not a map from formatted paths: formatting the full path of every key costs the
 * length of its prefix each time, which a long table name times many array elements made
 * quadratic. Edges live in two shared tables (no map per node), which keeps it small.
 */
class PathTrie {
  /** Key edges: segment → parent id → child id (a segment's hash is computed once per lookup, not per path). */
  private readonly named = new Map<string, Map<number, number>>();
  /** Index edges: parent id → its elements' ids, by index. */
  private readonly indexed: Array<number[] | undefined> = [];
  readonly at: number[] = [-1];
  readonly arrayCount: number[] = [0];

  /** The child's id, or -1. */
  get(parent: number, seg: PathSegment): number {
    if (typeof seg === "number") return this.indexed[parent]?.[seg] ?? -1;
    return this.named.get(seg)?.get(parent) ?? -1;
  }

  /** The child's id, made when missing. */
  child(parent: number, seg: PathSegment): number {
    if (typeof seg === "number") {
      let list = this.indexed[parent];
      if (!list) this.indexed[parent] = list = [];
      return (list[seg] ??= this.newNode());
    }
    let byParent = this.named.get(seg);
    if (!byParent) this.named.set(seg, (byParent = new Map()));
    let id = byParent.get(parent);
    if (id === undefined) byParent.set(parent, (id = this.newNode()));
    return id;
  }

  record(node: number, offset: number): void {
    if (this.at[node] < 0) this.at[node] = offset;
  }

  private newNode(): number {
    this.at.push(-1);
    this.arrayCount.push(0);
    return this.at.length - 1;
  }
}

export class TomlLocator {
  private trie: PathTrie | null = null;
  private readonly lines: LineIndex;

  constructor(private readonly text: string) {
    this.lines = new LineIndex(text);
  }

  /** Position of exactly this path, or null when the scanner did not see it. */
  find(path: readonly PathSegment[]): SourcePosition | null {
    const trie = this.index();
    let node = 0;
    for (const seg of path) {
      node = trie.get(node, seg);
      if (node < 0) return null;
    }
    return node === 0 || trie.at[node] < 0 ? null : this.lines.position(trie.at[node]);
  }

  /** Position of the path, else of its closest recorded ancestor, else line 1 column 1. */
  nearest(path: readonly PathSegment[]): SourcePosition {
    const trie = this.index();
    let node = 0;
    let best = -1;
    for (const seg of path) {
      node = trie.get(node, seg);
      if (node < 0) break;
      if (trie.at[node] >= 0) best = trie.at[node];
    }
    return best < 0 ? { line: 1, column: 1 } : this.lines.position(best);
  }

  private index(): PathTrie {
    if (!this.trie) {
      this.trie = new PathTrie();
      try {
        new PositionScanner(this.text, this.trie).document();
      } catch {
        // The document is valid TOML when we get here; a scanner gap only costs precision.
      }
    }
    return this.trie;
  }
}

/** Recursive-descent walk of valid TOML that records offsets, not values. */
class PositionScanner {
  private i = 0;
  /** The node of the current table (0: the document). */
  private table = 0;

  constructor(
    private readonly s: string,
    private readonly trie: PathTrie,
  ) {}

  private record(node: number, offset: number): void {
    this.trie.record(node, offset);
  }

  private descend(from: number, segs: readonly string[]): number {
    let node = from;
    for (const seg of segs) node = this.trie.child(node, seg);
    return node;
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
        const node = this.descend(this.table, segs);
        this.record(node, keyStart);
        this.skipInline();
        this.value(node);
      }
      this.skipToLineEnd();
      if (this.i <= start) this.i = start + 1; // always make progress
    }
  }

  /** `[a.b]` / `[[a.b]]` → the node of its path, with the index of the latest `[[…]]` of each array on the way. */
  private resolveHeader(segs: string[], isArray: boolean, offset: number): number {
    const trie = this.trie;
    let node = 0;
    segs.forEach((seg, n) => {
      node = trie.child(node, seg);
      const last = n === segs.length - 1;
      if (last && isArray) {
        trie.arrayCount[node]++;
        this.record(node, offset);
        node = trie.child(node, trie.arrayCount[node] - 1);
      } else if (trie.arrayCount[node] > 0) node = trie.child(node, trie.arrayCount[node] - 1);
    });
    this.record(node, offset);
    return node;
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

  private value(node: number): void {
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
        const element = this.trie.child(node, n);
        this.record(element, this.i);
        this.value(element);
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
        const field = this.descend(node, segs);
        this.record(field, keyStart);
        this.value(field);
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
