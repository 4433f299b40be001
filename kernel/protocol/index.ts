/** The Jupyter protocol layer: wire format, signing, connection file, sockets. */
export * from "./types.js";
export * from "./errors.js";
export { MessageSigner, decodeMessage, encodeMessage, makeHeader, type OutgoingMessage } from "./wire.js";
export { readConnectionFile, channelEndpoint } from "./connection.js";
export { KernelChannels, type IncomingChannel, type MessageListener, type LogFunction } from "./channels.js";
