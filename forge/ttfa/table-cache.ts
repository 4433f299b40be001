/**
 * The assembler's caches of built tables (the trigger table, trigger.ts; the constraint
 * tables, constraint.ts): per vocabulary, held weakly, an LRU of at most `entries` values and
 * `maxBytes` bytes, the least recently used dropped first; a value over `maxBytes` alone is not
 * kept. A server builds a table in slices before the compile asks for it, and the compile
 * finds it here. Values are never mutated once built.
 */
export class TableCache<V> {
  private readonly byVocabulary = new WeakMap<object, { values: Map<string, V>; bytes: number }>();

  constructor(
    private readonly entries: number,
    private readonly maxBytes: number,
    private readonly bytesOf: (value: V) => number,
  ) {}

  /** The value kept for `key` under `vocabulary`, now the most recently used. */
  get(vocabulary: object, key: string): V | undefined {
    const lru = this.byVocabulary.get(vocabulary);
    const hit = lru?.values.get(key);
    if (hit !== undefined) {
      lru!.values.delete(key); // most recently used last
      lru!.values.set(key, hit);
    }
    return hit;
  }

  /** Keeps `value` for `key` (replacing any), then drops the least recently used past the bounds. */
  set(vocabulary: object, key: string, value: V): void {
    const bytes = this.bytesOf(value);
    if (bytes > this.maxBytes) return;
    let lru = this.byVocabulary.get(vocabulary);
    if (!lru) this.byVocabulary.set(vocabulary, (lru = { values: new Map(), bytes: 0 }));
    const old = lru.values.get(key);
    if (old !== undefined) lru.bytes -= this.bytesOf(old);
    lru.values.delete(key);
    lru.values.set(key, value);
    lru.bytes += bytes;
    for (const [oldKey, oldValue] of lru.values) {
      if (lru.values.size <= this.entries && lru.bytes <= this.maxBytes) break;
      lru.values.delete(oldKey);
      lru.bytes -= this.bytesOf(oldValue);
    }
  }
}
