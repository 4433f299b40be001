/**
 * What an agent takes and returns. Declared apart from types.ts (which re-exports them) so
 * that the tape, which stores them and which types.ts builds on, needs nothing from types.ts.
 */
export type Inputs = Record<string, unknown>;
export type Outputs = Record<string, unknown>;
