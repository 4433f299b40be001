/** Argument helpers shared by the model scripts: a one-line error and exit 2 for a user mistake. */

export function failer(command: string): (message: string) => never {
  return (message) => {
    process.stderr.write(`${command}: ${message}\n`);
    process.exit(2);
  };
}

/** A non-negative integer flag, or undefined when absent. */
export function intArg(fail: (message: string) => never, name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a non-negative integer, got "${value}"`);
  return n;
}

/** A finite number flag, or undefined when absent (ranges are checked where it is used). */
export function numberArg(fail: (message: string) => never, name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const x = Number(value);
  if (value.trim() === "" || !Number.isFinite(x)) fail(`--${name} must be a number, got "${value}"`);
  return x;
}
