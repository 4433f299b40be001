/**
 * The constants of the SZCP format. They sit apart from types.ts so that the schema can use
 * them while types.ts derives its types from the schema (no cycle between the two).
 */
export const SZCP_FORMAT = "forge.szcp" as const;
export const SZCP_VERSION = 1 as const;
/** Target meaning "the program ends here". */
export const END = -1 as const;
