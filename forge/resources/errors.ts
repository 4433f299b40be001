import { ForgeError } from "../errors.js";

/** A resource was misconfigured, or a placeholder has no resource to fill it. */
export class ResourceError extends ForgeError {
  readonly code: string = "resource_invalid";
  constructor(message: string) {
    super(message);
    this.name = "ResourceError";
  }
}
