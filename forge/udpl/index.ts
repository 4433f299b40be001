/** UDPL: TOML prompt files → validated config and ZCP sequences (docs/language.md#udpl). */
export { parseUdpl, parseUdplFile, parseUdplFolder, type ParseUdplOptions } from "./parse.js";
export { UdplError, formatUdplProblem, type UdplLocation, type UdplProblem, type UdplWarning } from "./errors.js";
export { TomlLocator, LineIndex, formatPath, type PathSegment, type SourcePosition } from "./locate.js";
export { UDPL_LIMITS, type UdplLimitName } from "./limits.js";
export { DEFAULT_MAX_GEN, type UdplConfig, type UdplParseResult } from "./types.js";
