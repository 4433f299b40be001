/**
 * Auth as the seed sketches it: "auth-type will be a registry of capabilities, and
 * auth-payload whatever that ultimately expects". On the server, a registry maps an auth
 * type to a factory that turns the payload into a verifier; on the client, a registry maps
 * the same kind of name to the headers it sends.
 *
 * The one real verifier, "bearer-file": tokens listed one per line in a file. Only their
 * SHA-256 digests are kept in memory; a presented token is hashed and compared with every
 * digest by crypto.timingSafeEqual (equal-length digests, no early exit), so neither the
 * comparison time nor the answer tells which part of a guess was right. Tokens never appear
 * in logs or error messages.
 */
import { ForgeError } from "../../errors.js";
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";

/** What a verifier sees of a request. */
export interface AuthRequest {
  headers: Record<string, string | string[] | undefined>;
}

export interface AuthVerifier {
  /** The registry type it was made from (reported by /info, never the secrets). */
  readonly type: string;
  /** The principal (a non-secret name for whose credentials these are), or null when invalid. */
  verify(request: AuthRequest): string | null | Promise<string | null>;
  /** Value of the WWW-Authenticate header on a 401. */
  readonly challenge: string;
}

export type AuthVerifierFactory = (payload: unknown) => AuthVerifier;

export class AuthConfigError extends ForgeError {
  readonly code: string = "auth_config";
  constructor(message: string) {
    super(message);
    this.name = "AuthConfigError";
  }
}

/** auth type → verifier factory. */
export class AuthRegistry {
  private readonly factories = new Map<string, AuthVerifierFactory>();

  register(type: string, factory: AuthVerifierFactory): this {
    this.factories.set(type, factory);
    return this;
  }

  types(): string[] {
    return [...this.factories.keys()];
  }

  create(type: string, payload: unknown): AuthVerifier {
    const factory = this.factories.get(type);
    if (!factory) throw new AuthConfigError(`unknown auth type "${type}" (registered: ${this.types().join(", ") || "none"})`);
    return factory(payload);
  }
}

/** Shortest token a bearer file may hold: shorter ones are guessable. */
export const MIN_BEARER_TOKEN_LENGTH = 16;

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/** Bearer tokens from a file: one per line; blank lines and lines starting with # are skipped. */
export class BearerFileVerifier implements AuthVerifier {
  readonly type = "bearer-file";
  readonly challenge = 'Bearer realm="forge"';
  private digests: { digest: Buffer; line: number }[] = [];

  constructor(readonly file: string) {
    this.reload();
  }

  /** Re-reads the file (after tokens were added or revoked). */
  reload(): void {
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (err) {
      throw new AuthConfigError(`auth bearer-file: cannot read the token file ${this.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const digests: { digest: Buffer; line: number }[] = [];
    text.split(/\r?\n/).forEach((raw, i) => {
      const token = raw.trim();
      if (token === "" || token.startsWith("#")) return;
      if (token.length < MIN_BEARER_TOKEN_LENGTH || /\s/.test(token))
        throw new AuthConfigError(
          `auth bearer-file: ${this.file} line ${i + 1}: a token must be at least ${MIN_BEARER_TOKEN_LENGTH} characters without spaces`,
        );
      digests.push({ digest: digest(token), line: i + 1 });
    });
    if (digests.length === 0) throw new AuthConfigError(`auth bearer-file: ${this.file} holds no token`);
    this.digests = digests;
  }

  verify(request: AuthRequest): string | null {
    const header = request.headers.authorization;
    if (typeof header !== "string") return null;
    const match = /^Bearer[ \t]+(\S{1,4096})[ \t]*$/i.exec(header);
    if (!match) return null;
    const presented = digest(match[1]!);
    let principal: string | null = null;
    for (const entry of this.digests) {
      // Every digest is compared, whatever matched before: the time does not depend on which.
      if (timingSafeEqual(presented, entry.digest) && principal === null) principal = `bearer-file:line-${entry.line}`;
    }
    return principal;
  }
}

function bearerFileFactory(payload: unknown): AuthVerifier {
  const file = typeof payload === "string" ? payload : (payload as { file?: unknown } | null)?.file;
  if (typeof file !== "string" || file === "")
    throw new AuthConfigError('auth bearer-file: the payload must be the token file\'s path, or { file: "path" }');
  return new BearerFileVerifier(file);
}

/** The server-side registry, with "bearer-file" registered. */
export const authRegistry = new AuthRegistry().register("bearer-file", bearerFileFactory);

/** Client side: credentials an HttpClient sends, as the seed's auth-type + auth-payload. */
export interface ClientAuth {
  type: string;
  payload: unknown;
}

export type ClientAuthFactory = (payload: unknown) => Record<string, string>;

const clientAuthTypes = new Map<string, ClientAuthFactory>([
  [
    "bearer",
    (payload) => {
      if (typeof payload !== "string" || payload === "" || /\s/.test(payload))
        throw new AuthConfigError("auth bearer: the payload must be the token (a string without spaces)");
      return { authorization: `Bearer ${payload}` };
    },
  ],
]);

export function registerClientAuth(type: string, factory: ClientAuthFactory): void {
  clientAuthTypes.set(type, factory);
}

/** Headers for these credentials; throws AuthConfigError for an unknown type or a bad payload. */
export function clientAuthHeaders(auth: ClientAuth | null | undefined): Record<string, string> {
  if (!auth) return {};
  const factory = clientAuthTypes.get(auth.type);
  if (!factory) throw new AuthConfigError(`unknown client auth type "${auth.type}" (registered: ${[...clientAuthTypes.keys()].join(", ")})`);
  return factory(auth.payload);
}
