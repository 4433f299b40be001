/**
 * The shipped resources: a static string, a seeded list sampler and a bounded feedback
 * buffer. Samplers keep their generator between calls, so one factory yields a fresh draw
 * per workflow while the whole series replays from the seed.
 */
import { ResourceError } from "./errors.js";
import { sampleWithoutReplacement, seededRandom } from "./random.js";
import type { Resource, ResourceArguments, ResourceValue } from "./types.js";

export interface StaticResource extends Resource {
  readonly kind: "static";
  readonly value: string;
}

export function staticResource(value: string | number | boolean): StaticResource {
  const text = String(value);
  return { kind: "static", value: text, sample: () => text };
}

export interface SamplerOptions {
  /** Items per draw (default 1); a placeholder's `arguments.num_samples` overrides it. */
  numSamples?: number;
  /** Seed of the sampler's generator (default 0). */
  seed?: number;
  /** Joins the drawn items (default "\n"); `arguments.separator` overrides it. */
  separator?: string;
}

function drawCount(args: ResourceArguments | undefined, fallback: number, kind: string): number {
  const n = args?.num_samples ?? fallback;
  if (typeof n !== "number" || !Number.isInteger(n) || n <= 0) {
    throw new ResourceError(`${kind}: num_samples must be an integer > 0, got ${JSON.stringify(n)}`);
  }
  return n;
}

function separatorOf(args: ResourceArguments | undefined, fallback: string): string {
  const s = args?.separator ?? fallback;
  if (typeof s !== "string") throw new ResourceError(`separator must be a string, got ${JSON.stringify(s)}`);
  return s;
}

export interface ListSampler extends Resource {
  readonly kind: "list";
  readonly items: readonly string[];
}

/** Draws `num_samples` distinct items per call, joined by newlines, from a seeded generator. */
export function listSampler(items: readonly string[], options: SamplerOptions = {}): ListSampler {
  if (!Array.isArray(items) || items.length === 0) throw new ResourceError("listSampler needs a non-empty list of strings");
  items.forEach((item, i) => {
    if (typeof item !== "string") throw new ResourceError(`listSampler: item ${i} is ${typeof item}, expected a string`);
  });
  const numSamples = drawCount({ num_samples: options.numSamples ?? 1 }, 1, "listSampler");
  if (numSamples > items.length) {
    throw new ResourceError(`listSampler: numSamples ${numSamples} exceeds the ${items.length} items (sampling is without replacement)`);
  }
  const random = seededRandom(options.seed ?? 0);
  const frozen = Object.freeze(items.slice());
  return {
    kind: "list",
    items: frozen,
    sample(args) {
      const n = drawCount(args, numSamples, "listSampler");
      if (n > frozen.length) {
        throw new ResourceError(`listSampler: num_samples ${n} exceeds the ${frozen.length} items (sampling is without replacement)`);
      }
      return sampleWithoutReplacement(frozen, n, random).join(separatorOf(args, options.separator ?? "\n"));
    },
  };
}

export interface FeedbackBufferOptions extends SamplerOptions {
  /** Most items kept; appending beyond it drops the oldest. */
  capacity: number;
}

export interface FeedbackBuffer extends Resource {
  readonly kind: "feedback";
  readonly capacity: number;
  /** Items held now, oldest first. */
  readonly items: readonly string[];
  /** Adds items (between batches); the oldest fall out past `capacity`. */
  append(...items: string[]): void;
  clear(): void;
}

/**
 * A bounded buffer sampled like the list sampler. While it holds fewer items than asked
 * for, a draw returns all it has (an empty buffer gives ""), so the first batch can run
 * before any feedback exists.
 */
export function feedbackBuffer(options: FeedbackBufferOptions): FeedbackBuffer {
  const { capacity } = options;
  if (!Number.isInteger(capacity) || capacity <= 0) throw new ResourceError(`feedbackBuffer: capacity must be an integer > 0, got ${capacity}`);
  const numSamples = drawCount({ num_samples: options.numSamples ?? 1 }, 1, "feedbackBuffer");
  const random = seededRandom(options.seed ?? 0);
  let held: string[] = [];
  return {
    kind: "feedback",
    capacity,
    get items() {
      return held.slice();
    },
    append(...items: string[]) {
      items.forEach((item, i) => {
        if (typeof item !== "string") throw new ResourceError(`feedbackBuffer.append: item ${i} is ${typeof item}, expected a string`);
      });
      held = held.concat(items);
      if (held.length > capacity) held = held.slice(held.length - capacity);
    },
    clear() {
      held = [];
    },
    sample(args) {
      const n = drawCount(args, numSamples, "feedbackBuffer");
      return sampleWithoutReplacement(held, n, random).join(separatorOf(args, options.separator ?? "\n"));
    },
  };
}

export function isResource(value: unknown): value is Resource {
  return typeof value === "object" && value !== null && typeof (value as Resource).sample === "function" && typeof (value as Resource).kind === "string";
}

/** Plain strings, numbers and booleans become static resources; functions become function resources. */
export function toResource(value: ResourceValue, what: string): Resource {
  if (isResource(value)) return value;
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return staticResource(value);
  if (typeof value === "function") {
    const fn = value;
    return {
      kind: "function",
      sample(args) {
        const out = fn(args ?? {});
        if (typeof out !== "string") throw new ResourceError(`${what}: the resource function returned ${typeof out}, expected a string`);
        return out;
      },
    };
  }
  throw new ResourceError(`${what}: expected a resource, string, number, boolean or function, got ${value === null ? "null" : typeof value}`);
}
