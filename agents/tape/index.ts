/** The results tape (SQLite): durable step events, and what resume reads back. */
export { MAX_TAPE_VALUE_CHARS, Tape, type TapeEvent, type TapeEventKind, type StepOutcome, type StepStatus, type UnfinishedStep, type RunRecord, type TapeDurability } from "./tape.js";
export { encodeValue, decodeValue } from "./codec.js";
