/**
 * Exact decision probabilities (docs/instruments.md#decision-probabilities): the trie of every
 * token sequence that spells the control pattern from a trigger state, and its probability
 * under the model's distribution from the logits of its nodes.
 *
 * A sequence t1 … tk belongs to the trie when, read by the trigger table from the start state,
 * each of t1 … t(k−1) moves strictly further along the pattern (hazard.ts: the tokens the jump
 * hazard counts) without firing any pattern, and tk fires the control pattern. These are all
 * the pattern's tokenizations the trigger table accepts (a token may carry bytes before the
 * pattern's first byte, as the hazard counts it). The sequences are prefix-free, so
 *   pJump = Σ over the trie's leaves of Π p(t_i | context, t1 … t(i−1))
 * is the probability that the model's next tokens spell the pattern that way — exact, given
 * the logits of the root (the step's own row) and of every internal node (a probe forward).
 */
import type { TriggerTable } from "../ttfa/types.js";
import type { PatternProgress } from "./hazard.js";

/** Internal nodes a trie may have beyond its root; more (a vocabulary with very many tokenizations) falls back to the estimate. */
export const MAX_PATTERN_TRIE_NODES = 256;

/**
 * Node 0 is the root (the step's context); nodes 1 … N are the internal nodes, breadth first.
 * `tokens[i]`, `parents[i]` and `depths[i]` describe node i + 1 (parent −1: the root), in the
 * form StepModel.probe takes.
 */
export interface PatternTrie {
  /** Internal nodes beyond the root (N). */
  size: number;
  tokens: Int32Array;
  parents: Int32Array;
  depths: Int32Array;
  /** Children of node n: childToken/childNode[childStart[n] … childStart[n + 1]); childNode −1 for a token that fires the pattern. */
  childStart: Int32Array;
  childToken: Int32Array;
  childNode: Int32Array;
}

/**
 * The trie of the control pattern's tokenizations from trigger state `state`, or null when it
 * would have more than `maxNodes` internal nodes. Reads each node's row of the table once:
 * O(nodes · vocab).
 */
export function buildPatternTrie(table: TriggerTable, path: PatternProgress, state: number, vocab: number, maxNodes = MAX_PATTERN_TRIE_NODES): PatternTrie | null {
  const width = Math.min(vocab, table.vocabSize);
  const states = [state];
  const tokens: number[] = [];
  const parents: number[] = [];
  const depths: number[] = [];
  const childStart: number[] = [];
  const childToken: number[] = [];
  const childNode: number[] = [];
  for (let n = 0; n < states.length; n++) {
    childStart.push(childToken.length);
    const base = states[n]! * table.columns;
    const here = path.progress[states[n]!]!;
    for (let t = 0; t < width; t++) {
      const fired = table.match[base + t]!;
      if (fired === path.pattern) {
        childToken.push(t);
        childNode.push(-1);
        continue;
      }
      const next = table.next[base + t]!;
      if (fired >= 0 || path.progress[next]! <= here) continue; // another pattern ends the answer, or no progress
      if (states.length > maxNodes) return null;
      childToken.push(t);
      childNode.push(states.length);
      tokens.push(t);
      parents.push(n - 1);
      depths.push(n === 0 ? 1 : depths[n - 1]! + 1);
      states.push(next);
    }
  }
  childStart.push(childToken.length);
  return {
    size: tokens.length,
    tokens: Int32Array.from(tokens),
    parents: Int32Array.from(parents),
    depths: Int32Array.from(depths),
    childStart: Int32Array.from(childStart),
    childToken: Int32Array.from(childToken),
    childNode: Int32Array.from(childNode),
  };
}

/**
 * Σ over the trie's leaves of the product of conditionals, in float64. `root` holds the step's
 * logits row at `rootOffset`; `probe` the internal nodes' rows ([N, vocab], node i + 1 at row i).
 */
export function trieProbability(trie: PatternTrie, root: Float32Array, rootOffset: number, probe: Float32Array | null, vocab: number): number {
  const reach = new Float64Array(trie.size + 1);
  reach[0] = 1;
  let total = 0;
  for (let n = 0; n <= trie.size; n++) {
    const from = trie.childStart[n]!;
    const to = trie.childStart[n + 1]!;
    if (from === to || reach[n] === 0) continue;
    const row = n === 0 ? root : probe!;
    const offset = n === 0 ? rootOffset : (n - 1) * vocab;
    const lse = logSumExp64(row, offset, vocab);
    for (let c = from; c < to; c++) {
      const p = reach[n]! * Math.exp(row[offset + trie.childToken[c]!]! - lse);
      const child = trie.childNode[c]!;
      if (child < 0) total += p;
      else reach[child] = p;
    }
  }
  return total;
}

function logSumExp64(row: Float32Array, offset: number, vocab: number): number {
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) if (row[offset + i]! > max) max = row[offset + i]!;
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(row[offset + i]! - max);
  return max + Math.log(sum);
}
