import { ForgeError } from "../errors.js";

/** A request the backend refuses before running: the message says what and where. */
export class RequestError extends ForgeError {
  readonly code: string = "request_invalid";
  constructor(message: string) {
    super(message);
    this.name = "RequestError";
  }
}
