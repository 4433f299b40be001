/**
 * Resources fill placeholders when a workflow is sampled (docs/language.md#resources). A resource is
 * called with its placeholder's `arguments` table and returns a string.
 */

/** The `arguments` table of a placeholder, e.g. `{ num_samples = 3 }`. */
export type ResourceArguments = Readonly<Record<string, unknown>>;

export interface Resource {
  /** What kind of resource this is ("static", "list", "feedback", "function"), for messages and meta. */
  readonly kind: string;
  sample(args?: ResourceArguments): string;
}

/** What callers may pass where a resource is expected: plain values become static resources. */
export type ResourceValue = Resource | string | number | boolean | ((args: ResourceArguments) => string);

export type ResourceMap = Readonly<Record<string, ResourceValue>>;
