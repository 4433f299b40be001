/** A resource was misconfigured, or a placeholder has no resource to fill it. */
export class ResourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ResourceError";
  }
}
