/** Cell output: MIME bundles, display helpers, progress displays, stream capture. */
export type { DisplayFunction, DisplayHandle, DisplayOptions, MimeBundle } from "./cell-api.js";
export { CellOutput, type Publish } from "./cell-output.js";
export { installDisplayGlobals, makeDisplayFunction, type OutputTarget } from "./display-globals.js";
export { mimeBundleOf, vegaLiteBundle, isVegaLiteSpec, textPlain, VEGALITE_MIME, type SvgRenderer } from "./mime.js";
export { ProgressDisplay, progressLine, summaryLine } from "./progress.js";
export { captureStreams, type StreamCapture, type StreamName } from "./streams.js";
