import { PayoutError } from './payout.error';

/** One broken rule: which field, which rule, and a sentence for people. */
export interface PayoutFieldError {
  field: string;
  rule: string;
  message: string;
}

/**
 * The input broke one or more rules. Thrown before any network call; `errors` lists every broken
 * rule, not just the first.
 */
export class PayoutValidationError extends PayoutError {
  readonly errors: PayoutFieldError[];

  constructor(errors: PayoutFieldError[]) {
    super(`Invalid payout input: ${errors.map((e) => e.message).join('; ')}`);
    this.errors = errors;
  }
}
