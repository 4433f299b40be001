/**
 * `import * as tslab from "tslab"` in a cell, as tslab notebooks write it: the kernel's own
 * display API under tslab's names (`tslab.display.html(…)`, `tslab.newDisplay()`,
 * `tslab.versions`), resolved by the kernel in any folder (no tslab package needed there).
 */
import { CELL_TYPESCRIPT_VERSION } from "./typescript.js";
import { ForgeError } from "../../forge/errors.js";

/** A display call a cell got wrong (tslab's API): the message says which and how. */
class DisplayUsageError extends ForgeError {
  readonly code: string = "display_usage";
  override readonly name = "DisplayUsageError";
}

/** What the cells' `display` global offers that this module uses (kernel/output/cell-api.ts). */
interface KernelDisplay {
  bundle(bundle: Record<string, unknown>, options?: { displayId?: string }): { readonly displayId: string; update(value: unknown): void };
}

/** tslab's `Display`. */
export interface TslabDisplay {
  javascript(s: string): void;
  html(s: string): void;
  markdown(s: string): void;
  latex(s: string): void;
  svg(s: string): void;
  png(b: Uint8Array): void;
  jpeg(b: Uint8Array): void;
  gif(b: Uint8Array): void;
  pdf(b: Uint8Array): void;
  text(s: string): void;
  raw(contentType: string, b: string | Uint8Array): void;
}

/** The module's declaration, for the cell type checker (a script: an ambient module that needs no package). */
export const TSLAB_DECLARATIONS = `declare module "tslab" {
  /** The version strings of the kernel's parts (tslab's \`versions\`: tslab is the Workflow Forge kernel here). */
  export const versions: { tslab: string; typescript: string; node: string };
  export interface Display {
    javascript(s: string): void;
    html(s: string): void;
    markdown(s: string): void;
    latex(s: string): void;
    svg(s: string): void;
    png(b: Uint8Array): void;
    jpeg(b: Uint8Array): void;
    gif(b: Uint8Array): void;
    pdf(b: Uint8Array): void;
    text(s: string): void;
    raw(contentType: string, b: string | Uint8Array): void;
  }
  /** A Display whose calls replace one output in place. */
  export function newDisplay(): Display;
  /** Show rich content as the cell's output. */
  export const display: Display;
}
`;

function kernelDisplay(): KernelDisplay {
  const display = (globalThis as { display?: KernelDisplay }).display;
  if (typeof display?.bundle !== "function") throw new Error("tslab.display needs the kernel's display global, which this process does not have");
  return display;
}

/** Binary content goes out base64-encoded, as Jupyter expects for image/* and application/pdf. */
function encoded(b: string | Uint8Array): string {
  return typeof b === "string" ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
}

/** `inPlace`: every call after the first replaces the output the first one showed (tslab's newDisplay). */
function createDisplay(inPlace: boolean): TslabDisplay {
  let handle: { update(value: unknown): void } | null = null;
  // A value the kernel shows as this bundle (forge/display.ts's protocol, by its global symbol).
  const displayable = (bundle: Record<string, unknown>) => ({ [Symbol.for("forge.mimeBundle")]: () => bundle });
  const raw = (contentType: string, b: string | Uint8Array): void => {
    if (typeof contentType !== "string" || contentType === "") throw new DisplayUsageError("tslab.display.raw needs a content type, e.g. \"text/html\"");
    const bundle = { [contentType]: encoded(b) };
    if (inPlace && handle) {
      handle.update(displayable(bundle));
      return;
    }
    const shown = kernelDisplay().bundle(bundle);
    if (inPlace) handle = shown;
  };
  return {
    javascript: (s) => raw("application/javascript", s),
    html: (s) => raw("text/html", s),
    markdown: (s) => raw("text/markdown", s),
    latex: (s) => raw("text/latex", s),
    svg: (s) => raw("image/svg+xml", s),
    png: (b) => raw("image/png", b),
    jpeg: (b) => raw("image/jpeg", b),
    gif: (b) => raw("image/gif", b),
    pdf: (b) => raw("application/pdf", b),
    text: (s) => raw("text/plain", s),
    raw,
  };
}

let module: Record<string, unknown> | null = null;

/** What `require("tslab")` returns in a cell. */
export function tslabModule(): Record<string, unknown> {
  return (module ??= Object.freeze({
    versions: Object.freeze({ tslab: "forge-kernel", typescript: CELL_TYPESCRIPT_VERSION, node: process.version }),
    display: createDisplay(false),
    newDisplay: () => createDisplay(true),
  }));
}
