/** Reading the connection file that Jupyter hands a kernel with `-f` / `--connection-file`. */
import { readFileSync } from "node:fs";
import { ConnectionFileError } from "./errors.js";
import type { ChannelName, ConnectionInfo } from "./types.js";

const PORT_FIELDS = ["shell_port", "control_port", "iopub_port", "stdin_port", "hb_port"] as const;

export function readConnectionFile(file: string): ConnectionInfo {
  let raw: string;
  try {
    raw = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConnectionFileError(file, `cannot be read (${(e as Error).message})`);
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new ConnectionFileError(file, "is not JSON");
  }
  for (const field of PORT_FIELDS) {
    if (typeof parsed[field] !== "number") throw new ConnectionFileError(file, `field "${field}" must be a number`);
  }
  if (typeof parsed.ip !== "string") throw new ConnectionFileError(file, `field "ip" must be a string`);
  const transport = parsed.transport ?? "tcp";
  if (transport !== "tcp" && transport !== "ipc") throw new ConnectionFileError(file, `field "transport" must be "tcp" or "ipc"`);
  return {
    transport,
    ip: parsed.ip,
    shell_port: parsed.shell_port as number,
    control_port: parsed.control_port as number,
    iopub_port: parsed.iopub_port as number,
    stdin_port: parsed.stdin_port as number,
    hb_port: parsed.hb_port as number,
    key: typeof parsed.key === "string" ? parsed.key : "",
    signature_scheme: typeof parsed.signature_scheme === "string" ? parsed.signature_scheme : "hmac-sha256",
  };
}

/** The zeromq endpoint of one channel: tcp://ip:port, or ipc://ip-port for the ipc transport. */
export function channelEndpoint(info: ConnectionInfo, channel: ChannelName): string {
  const port = info[`${channel}_port`];
  return info.transport === "tcp" ? `tcp://${info.ip}:${port}` : `ipc://${info.ip}-${port}`;
}
