/** Base class of every error this module throws on purpose. */
export class PayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
