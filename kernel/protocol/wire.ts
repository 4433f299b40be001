/**
 * The wire format: `[identities…, "<IDS|MSG>", hmac, header, parent_header, metadata, content, buffers…]`.
 * Signing is HMAC over the four JSON frames with the connection file's scheme and key.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { BadSignatureError, MalformedMessageError } from "./errors.js";
import { PROTOCOL_VERSION, type JupyterMessage, type MessageHeader } from "./types.js";

const DELIMITER = "<IDS|MSG>";

export class MessageSigner {
  private readonly algorithm: string;

  constructor(
    private readonly key: string,
    scheme: string,
  ) {
    // "hmac-sha256" → "sha256"; the scheme is what the connection file names.
    this.algorithm = scheme.replace(/^hmac-/, "") || "sha256";
  }

  sign(frames: readonly (string | Buffer)[]): string {
    if (this.key === "") return "";
    const hmac = createHmac(this.algorithm, this.key);
    for (const frame of frames) hmac.update(frame);
    return hmac.digest("hex");
  }

  verify(signature: string, frames: readonly Buffer[]): boolean {
    if (this.key === "") return true;
    const expected = Buffer.from(this.sign(frames), "utf8");
    const actual = Buffer.from(signature, "utf8");
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
}

function parseJsonFrame(channel: string, name: string, frame: Buffer | undefined): Record<string, unknown> {
  if (frame === undefined) throw new MalformedMessageError(channel, `missing ${name} frame`);
  let value: unknown;
  try {
    value = JSON.parse(frame.toString("utf8"));
  } catch {
    throw new MalformedMessageError(channel, `${name} frame is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new MalformedMessageError(channel, `${name} frame is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Decode and verify the frames of one incoming message. Throws MalformedMessageError / BadSignatureError. */
export function decodeMessage(channel: string, frames: Buffer[], signer: MessageSigner): JupyterMessage {
  const split = frames.findIndex((f) => f.length === DELIMITER.length && f.toString("latin1") === DELIMITER);
  if (split < 0) throw new MalformedMessageError(channel, `no "${DELIMITER}" delimiter frame`);
  if (frames.length < split + 6) throw new MalformedMessageError(channel, `expected 5 frames after the delimiter, got ${frames.length - split - 1}`);
  const signature = frames[split + 1]!.toString("utf8");
  const signed = frames.slice(split + 2, split + 6);
  const header = parseJsonFrame(channel, "header", signed[0]);
  if (!signer.verify(signature, signed)) throw new BadSignatureError(channel, String(header.msg_type));
  if (typeof header.msg_type !== "string" || typeof header.msg_id !== "string") {
    throw new MalformedMessageError(channel, "header lacks msg_type or msg_id");
  }
  return {
    identities: frames.slice(0, split),
    header: header as unknown as MessageHeader,
    parent_header: parseJsonFrame(channel, "parent_header", signed[1]) as JupyterMessage["parent_header"],
    metadata: parseJsonFrame(channel, "metadata", signed[2]),
    content: parseJsonFrame(channel, "content", signed[3]),
    buffers: frames.slice(split + 6),
  };
}

export function makeHeader(msgType: string, session: string): MessageHeader {
  return {
    msg_id: randomUUID(),
    session,
    username: "kernel",
    date: new Date().toISOString(),
    msg_type: msgType,
    version: PROTOCOL_VERSION,
  };
}

export interface OutgoingMessage {
  identities?: Buffer[];
  header: MessageHeader;
  parent_header: MessageHeader | Record<string, never>;
  metadata?: Record<string, unknown>;
  content: unknown;
}

export function encodeMessage(message: OutgoingMessage, signer: MessageSigner): (Buffer | string)[] {
  const json = [
    JSON.stringify(message.header),
    JSON.stringify(message.parent_header),
    JSON.stringify(message.metadata ?? {}),
    JSON.stringify(message.content),
  ];
  return [...(message.identities ?? []), DELIMITER, signer.sign(json), ...json];
}
