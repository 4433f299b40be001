/** Errors of the protocol layer. They describe a bad message or connection file, never crash the kernel. */

/** A frame sequence that is not a Jupyter message (missing delimiter, bad JSON, missing header fields). */
export class MalformedMessageError extends Error {
  constructor(channel: string, detail: string) {
    super(`malformed message on ${channel}: ${detail}`);
    this.name = "MalformedMessageError";
  }
}

/** A message whose HMAC signature does not match: ignored, as the protocol asks. */
export class BadSignatureError extends Error {
  constructor(channel: string, msgType: string) {
    super(`message with a wrong HMAC signature on ${channel} (msg_type ${JSON.stringify(msgType)}) ignored`);
    this.name = "BadSignatureError";
  }
}

/** The connection file is missing, not JSON, or lacks a field. */
export class ConnectionFileError extends Error {
  constructor(file: string, detail: string) {
    super(`connection file ${file}: ${detail}`);
    this.name = "ConnectionFileError";
  }
}
