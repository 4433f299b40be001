/** Cell output: MIME bundles, display helpers, progress displays, stream capture, library object summaries. */
export type { DisplayFunction, DisplayHandle, DisplayOptions, MimeBundle } from "./cell-api.js";
export { CellOutput, DisplayHandleImpl, isDisplayHandle, MAX_CELL_STREAM_CHARS, type Publish } from "./cell-output.js";
export { installDisplayGlobals, makeDisplayFunction, type OutputTarget } from "./display-globals.js";
export { mimeBundleOf, vegaLiteBundle, isVegaLiteSpec, specForV5Mime, vegaLiteVersion, textPlain, VEGALITE_MIME, VEGALITE_V5_SCHEMA, type SvgRenderer } from "./mime.js";
export { ProgressDisplay, progressBundle, progressLine, summaryLine, fractionDone, timeLeftMs } from "./progress.js";
export { captureStreams, isInformational, type StreamCapture, type StreamName } from "./streams.js";
export { librarySummary } from "./summaries.js";
