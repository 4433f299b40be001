/**
 * The display protocol between library objects and the notebook kernel.
 *
 * A value that can show itself richly carries a method under `mimeBundle`; the kernel
 * awaits it and sends the bundle as `execute_result` / `display_data`. Keeping the
 * protocol a symbol means `viz` and `datasets` need not import the kernel.
 */
export const mimeBundle: unique symbol = Symbol.for("forge.mimeBundle") as never;

/** mime type → data (strings for text types, plain objects for JSON types). */
export type MimeBundle = Record<string, unknown>;

export interface Displayable {
  [mimeBundle](): MimeBundle | Promise<MimeBundle>;
}

export function isDisplayable(value: unknown): value is Displayable {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Record<symbol, unknown>)[mimeBundle] === "function"
  );
}
