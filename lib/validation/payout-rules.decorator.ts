import { Injectable, Optional } from '@nestjs/common';
import {
  registerDecorator,
  type ValidationArguments,
  ValidatorConstraint,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { PayoutConfig } from '../options/payout-config';
import type { PayoutFieldError } from '../payout.errors';

/** A DTO's rule check: every broken rule of `object`, given the module's options when they can be reached. */
export type PayoutRulesCheck = (
  object: object,
  config: PayoutConfig | undefined,
) => PayoutFieldError[];

/**
 * The class-validator constraint behind `@MeetsPayoutRules`. class-validator creates it on its own
 * (then the rules that depend on module options, such as amount limits, are left to the service),
 * unless the host lets it use Nest's container, as Nest documents for injected validators:
 * `useContainer(app.select(AppModule), { fallbackOnErrors: true })`. Then `PayoutModule` provides
 * it with the options in force, and the DTO reports exactly what the service would.
 */
@ValidatorConstraint({ name: 'payoutRules' })
@Injectable()
export class PayoutRulesConstraint implements ValidatorConstraintInterface {
  constructor(@Optional() private readonly config?: PayoutConfig) {}

  validate(_value: unknown, args: ValidationArguments): boolean {
    return this.broken(args).length === 0;
  }

  defaultMessage(args: ValidationArguments): string {
    return this.broken(args)
      .map((error) => error.message)
      .join('; ');
  }

  private broken(args: ValidationArguments): PayoutFieldError[] {
    const [check] = args.constraints as [PayoutRulesCheck];
    return check(args.object, this.config).filter((error) => error.field === args.property);
  }
}

/**
 * Binds a property to one of the module's rule checks, so a DTO validated by `ValidationPipe`
 * reports the messages `PayoutService` would throw in a `PayoutValidationError`.
 */
export function MeetsPayoutRules(check: PayoutRulesCheck): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'payoutRules',
      target: target.constructor,
      propertyName: String(propertyName),
      constraints: [check],
      validator: PayoutRulesConstraint,
    });
}
