/** Cell history (history_request: tail, range, search). */
export { HistoryStore, defaultHistoryPath, globToRegExp, type HistoryEntry, type HistoryQuery } from "./store.js";
