import { registerDecorator, type ValidationArguments } from 'class-validator';
import type { PayoutFieldError } from '../errors/payout-validation.error';

/**
 * Binds a property to one of the module's rule checks, so a DTO validated by `ValidationPipe`
 * reports exactly the messages `PayoutService` would throw in a `PayoutValidationError`.
 */
export function MeetsPayoutRules(check: (object: object) => PayoutFieldError[]): PropertyDecorator {
  const broken = (args: ValidationArguments) => check(args.object).filter((error) => error.field === args.property);
  return (target, propertyName) =>
    registerDecorator({
      name: 'payoutRules',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (_value: unknown, args: ValidationArguments) => broken(args).length === 0,
        defaultMessage: (args: ValidationArguments) => broken(args).map((error) => error.message).join('; '),
      },
    });
}
