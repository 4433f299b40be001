/**
 * The Forge server's auth and loopback rules, reused (through forge's public entry) rather than
 * copied: bearer tokens in a file, verified by forge's auth registry; "is this host loopback".
 */
import { server as forgeServer } from "../../forge/index.js";

export interface StudioVerifier {
  readonly challenge: string;
  verify(request: { headers: Record<string, string | string[] | undefined> }): string | null | Promise<string | null>;
}

export const forgeAuth = {
  /** A verifier of bearer tokens listed in `file` (forge's "bearer-file" auth). */
  create(file: string): StudioVerifier {
    return forgeServer.authRegistry.create("bearer-file", file);
  },
  resolvesToLoopback(host: string): Promise<boolean> {
    return forgeServer.resolvesToLoopback(host);
  },
};
