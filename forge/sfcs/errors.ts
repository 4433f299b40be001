/**
 * SFCS errors name the call site: the line of the user's program that made the call
 * (`program.loop("control")` at notebook.ts:12:9) and what is wrong there. RZCP lowering
 * raises the same error at sampling time, so the class lives in the lower stage
 * (forge/rzcp/errors.ts) and is re-exported here.
 */
export { SfcsError, formatSite, type CallSite, type SfcsProblem } from "../rzcp/errors.js";
