import { inspect } from 'node:util';
import type { PayoutCurrency } from '../payout.types';
import { signCashyBody, verifyCashySignature } from '../client/cashy-signature';

/**
 * A resolved merchant account. The apiKey is held in a private field and only ever used to sign
 * or verify, so no log, JSON dump or `util.inspect` of an account can print it.
 */
export class CashyAccount {
  readonly #apiKey: string;
  /** The apiKey as UTF-8 bytes, encoded once for verifying raw bodies. */
  readonly #apiKeyBytes: Buffer;

  constructor(
    readonly name: string,
    readonly merchantId: string,
    apiKey: string,
    /** `undefined` when the account serves every currency. */
    readonly currencies: readonly PayoutCurrency[] | undefined,
  ) {
    this.#apiKey = apiKey;
    this.#apiKeyBytes = Buffer.from(apiKey, 'utf8');
  }

  /** The currency of this account's orders, when it serves exactly one (else the order must say). */
  get soleCurrency(): PayoutCurrency | undefined {
    return this.currencies?.length === 1 ? this.currencies[0] : undefined;
  }

  /** Whether this account pays out in `currency`. */
  serves(currency: PayoutCurrency): boolean {
    return this.currencies === undefined || this.currencies.includes(currency);
  }

  /** Upper-case `MD5(body + apiKey)`. */
  sign(body: string | Buffer): string {
    return signCashyBody(body, typeof body === 'string' ? this.#apiKey : this.#apiKeyBytes);
  }

  /** Constant-time check of a `Sign` header over raw bytes. */
  verify(rawBody: Buffer | string, sign: unknown): boolean {
    return verifyCashySignature(
      rawBody,
      typeof rawBody === 'string' ? this.#apiKey : this.#apiKeyBytes,
      sign,
    );
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      merchantId: this.merchantId,
      currencies: this.currencies,
      apiKey: '[redacted]',
    };
  }

  [inspect.custom](): string {
    return `CashyAccount ${JSON.stringify(this.toJSON())}`;
  }
}
