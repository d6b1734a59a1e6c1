import { PayoutError } from './payout.error';

/** The `PayoutStore` failed (for example Redis is unreachable); the webhook answers 503 so Cashy retries. */
export class PayoutStoreError extends PayoutError {
  constructor(operation: string, cause: unknown) {
    super(`PayoutStore ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}
