/** The auth registry and the bearer-file verifier (constant-time digest comparison). */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AuthConfigError, AuthRegistry, BearerFileVerifier, authRegistry, clientAuthHeaders } from "../../../../forge/transport/http/index.js";

const dir = mkdtempSync(join(tmpdir(), "forge-auth-"));
const TOKEN_A = "alpha-token-0123456789abcdef";
const TOKEN_B = "bravo-token-0123456789abcdef";

function tokenFile(text: string): string {
  const file = join(dir, `tokens-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(file, text);
  return file;
}

describe("BearerFileVerifier", () => {
  const file = tokenFile(`# forge tokens\n${TOKEN_A}\n\n${TOKEN_B}\n`);
  const verifier = authRegistry.create("bearer-file", file);

  it("accepts each listed token and names the principal by line, not by secret", () => {
    expect(verifier.verify({ headers: { authorization: `Bearer ${TOKEN_A}` } })).toBe("bearer-file:line-2");
    expect(verifier.verify({ headers: { authorization: `bearer ${TOKEN_B}` } })).toBe("bearer-file:line-4");
  });

  it("refuses a missing, malformed, wrong or prefix-of-valid token", () => {
    for (const authorization of [undefined, "", "Bearer", `Basic ${TOKEN_A}`, `Bearer ${TOKEN_A.slice(0, -1)}`, `Bearer ${TOKEN_A}x`, `Bearer ${TOKEN_A} ${TOKEN_B}`])
      expect(verifier.verify({ headers: { authorization } })).toBeNull();
    expect(verifier.verify({ headers: { authorization: [`Bearer ${TOKEN_A}`] } })).toBeNull();
  });

  it("reloads the file: a revoked token stops working", () => {
    const revocable = tokenFile(`${TOKEN_A}\n${TOKEN_B}\n`);
    const v = new BearerFileVerifier(revocable);
    expect(v.verify({ headers: { authorization: `Bearer ${TOKEN_B}` } })).not.toBeNull();
    writeFileSync(revocable, `${TOKEN_A}\n`);
    v.reload();
    expect(v.verify({ headers: { authorization: `Bearer ${TOKEN_B}` } })).toBeNull();
  });

  it("refuses bad token files with the file and line, never echoing the token", () => {
    const short = tokenFile(`${TOKEN_A}\nshort\n`);
    expect(() => new BearerFileVerifier(short)).toThrow(new RegExp(`${short.replace(/[.]/g, "\\.")} line 2: a token must be at least 16`));
    expect(() => new BearerFileVerifier(short)).not.toThrow(/short$/);
    expect(() => new BearerFileVerifier(tokenFile("# nothing\n"))).toThrow(/holds no token/);
    expect(() => new BearerFileVerifier(join(dir, "missing.txt"))).toThrow(/cannot read the token file .*missing\.txt: ENOENT/);
  });
});

describe("auth registries", () => {
  it("maps types to verifiers and names the registered ones for an unknown type", () => {
    expect(authRegistry.types()).toContain("bearer-file");
    expect(() => authRegistry.create("oauth", {})).toThrow(/unknown auth type "oauth" \(registered: bearer-file\)/);
    expect(() => authRegistry.create("bearer-file", 42)).toThrow(AuthConfigError);
    const custom = new AuthRegistry().register("header", () => ({ type: "header", challenge: "X", verify: (r) => (r.headers["x-key"] === "k" ? "k" : null) }));
    expect(custom.create("header", null).verify({ headers: { "x-key": "k" } })).toBe("k");
  });

  it("turns client credentials into headers", () => {
    expect(clientAuthHeaders({ type: "bearer", payload: TOKEN_A })).toEqual({ authorization: `Bearer ${TOKEN_A}` });
    expect(clientAuthHeaders(null)).toEqual({});
    expect(() => clientAuthHeaders({ type: "bearer", payload: "two words" })).toThrow(/without spaces/);
    expect(() => clientAuthHeaders({ type: "kerberos", payload: "x" })).toThrow(/unknown client auth type "kerberos"/);
  });
});
