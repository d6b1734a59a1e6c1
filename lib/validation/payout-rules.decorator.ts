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

/** One run of a check over a DTO: the messages per broken field, and the field values it saw. */
interface RulesPass {
  readonly check: PayoutRulesCheck;
  readonly config: PayoutConfig | undefined;
  readonly keys: string[];
  readonly values: unknown[];
  /** Field → its messages joined by "; ", for every field with a broken rule. */
  readonly messages: Map<string, string>;
}

// class-validator asks the constraint once per decorated field (and again for each message), but
// the check covers the whole DTO: its last pass is kept per DTO, so one validate() runs it once.
// Weak, so a pass goes with its DTO; per check and config, so modules never share a result.
const passes = new WeakMap<object, RulesPass[]>();

/** Whether `object` still has exactly the enumerable fields and values (`Object.is`) `pass` saw. */
function unchanged(object: object, pass: RulesPass): boolean {
  const record = object as Record<string, unknown>;
  let i = 0;
  for (const key in record) {
    if (key !== pass.keys[i] || !Object.is(record[key], pass.values[i])) return false;
    i++;
  }
  return i === pass.keys.length;
}

function run(object: object, check: PayoutRulesCheck, config: PayoutConfig | undefined): RulesPass {
  const record = object as Record<string, unknown>;
  const keys: string[] = [];
  const values: unknown[] = [];
  // Every enumerable field, own or inherited, so a field added since is seen as a change too.
  for (const key in record) {
    keys.push(key);
    values.push(record[key]);
  }
  const messages = new Map<string, string>();
  for (const { field, message } of check(object, config))
    messages.set(field, messages.has(field) ? `${messages.get(field)}; ${message}` : message);
  return { check, config, keys, values, messages };
}

/**
 * The broken fields of `object` under `check`: the kept pass while none of the DTO's field values
 * changed since it was taken, else a new one (so validating, mutating and validating again reports
 * the new values).
 */
function brokenFields(
  object: object,
  check: PayoutRulesCheck,
  config: PayoutConfig | undefined,
): Map<string, string> {
  const kept = passes.get(object) ?? [];
  const index = kept.findIndex((pass) => pass.check === check && pass.config === config);
  if (index >= 0 && unchanged(object, kept[index])) return kept[index].messages;
  const pass = run(object, check, config);
  if (index >= 0) kept[index] = pass;
  else passes.set(object, [...kept, pass]);
  return pass.messages;
}

/**
 * The class-validator constraint behind `@MeetsPayoutRules`. With Nest's container
 * (`useContainer(app.select(AppModule), { fallbackOnErrors: true })`) it gets the options in force
 * and reports exactly what the service would; without, rules on module options (amount limits) are
 * left to the service.
 */
@ValidatorConstraint({ name: 'payoutRules' })
@Injectable()
export class PayoutRulesConstraint implements ValidatorConstraintInterface {
  constructor(@Optional() private readonly config?: PayoutConfig) {}

  validate(_value: unknown, args: ValidationArguments): boolean {
    return !this.broken(args).has(args.property);
  }

  defaultMessage(args: ValidationArguments): string {
    return this.broken(args).get(args.property) ?? '';
  }

  private broken(args: ValidationArguments): Map<string, string> {
    const [check] = args.constraints as [PayoutRulesCheck];
    return brokenFields(args.object, check, this.config);
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
