/**
 * Jupyter messaging protocol 5.3 — the shapes that travel over the kernel's sockets.
 * https://jupyter-client.readthedocs.io/en/latest/messaging.html
 */
export const PROTOCOL_VERSION = "5.3";

export interface MessageHeader {
  msg_id: string;
  session: string;
  username: string;
  /** ISO 8601 timestamp. */
  date: string;
  msg_type: string;
  version: string;
}

/** A decoded message. `identities` are the ROUTER routing frames a reply must carry back. */
export interface JupyterMessage<C = Record<string, unknown>> {
  identities: Buffer[];
  header: MessageHeader;
  /** Empty object when the message has no parent. */
  parent_header: MessageHeader | Record<string, never>;
  metadata: Record<string, unknown>;
  content: C;
  buffers: Buffer[];
}

/** The connection file Jupyter writes for a kernel it starts. */
export interface ConnectionInfo {
  transport: "tcp" | "ipc";
  ip: string;
  shell_port: number;
  control_port: number;
  iopub_port: number;
  stdin_port: number;
  hb_port: number;
  /** HMAC key; empty disables signing. */
  key: string;
  /** e.g. "hmac-sha256". */
  signature_scheme: string;
}

export type ChannelName = "shell" | "control" | "iopub" | "stdin" | "hb";
