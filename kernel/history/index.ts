/** Cell history (history_request: tail, range, search). */
export { HistoryStore, HistoryRequestError, defaultHistoryPath, compileGlob, MAX_HISTORY_PATTERN_LENGTH, type HistoryEntry, type HistoryQuery } from "./store.js";
