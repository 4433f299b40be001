/** Types of bundle.mjs (plain JavaScript: it runs before anything compiles TypeScript). */
export declare const REPO_ROOT: string;
/** Entry points of the bundle: output name (path without extension) → source path. */
export declare const BUNDLE_ENTRIES: Readonly<Record<string, string>>;
/** Where bundles are cached: node_modules/.cache/forge-kernel/bundle (package imports resolve from there). */
export declare function bundleCacheRoot(): string;
/** The up-to-date bundle's folder, or null when there is none or a source changed since. */
export declare function freshBundle(): string | null;
/** The up-to-date bundle's folder, built first if need be. */
export declare function kernelBundle(): Promise<string>;
/** Build the bundle now; returns its folder. */
export declare function buildBundle(): Promise<string>;
/** Packages an entry loads as it is imported: ES modules it imports, CommonJS ones it requires. */
export interface EntryPackages {
  imports: string[];
  requires: string[];
}
/** What a bundle was built from and with; `packages`: per entry (output name), what it loads. */
export interface BundleManifest {
  format: number;
  node: string;
  esbuild: string;
  root: string;
  inputs: Record<string, [size: number, mtimeMs: number]>;
  packages: Record<string, EntryPackages>;
}
/** The manifest of the bundle in `folder`. */
export declare function bundleManifest(folder: string): BundleManifest;
/** Whether the bundle `manifest` describes is up to date (settings, and each input's size and modification time). */
export declare function isFresh(manifest: BundleManifest): boolean;
