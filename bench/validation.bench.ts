import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { plainToInstance } from 'class-transformer';
import {
  getMetadataStorage,
  IsOptional,
  IsString,
  useContainer,
  validate,
  type ValidationError,
} from 'class-validator';
import { CreatePayoutDto, PayoutModule } from 'nestjs-cashy-payout';
import { BENCH } from './bench.config';
import { median, round } from './stats.util';

/** One sample body: `validate()` of a fresh `CreatePayoutDto` against the plain `@IsString()` DTO. */
export interface ValidationRow {
  sample: string;
  /** The properties `CreatePayoutDto` reports for the sample (none for a valid one). */
  brokenFields: string[];
  /** Rule-check passes (calls of the DTO's whole-body check) during one `validate()` of a fresh DTO. */
  rulePasses: number;
  /** Median µs per `validate()`: `CreatePayoutDto`, and the baseline DTO. */
  usPerValidate: { dto: number; baseline: number };
  /** `CreatePayoutDto` µs over the baseline's: median of the per-round ratios. */
  ratio: number;
  roundRatios: number[];
}

/** The `validate()` micro-row: `CreatePayoutDto` against a DTO with the same fields and one `@IsString()` each. */
export interface ValidationResult {
  fields: number;
  rows: ValidationRow[];
}

/**
 * The baseline: `CreatePayoutDto`'s 14 fields with one plain `@IsString()` rule each (the optional
 * ones `@IsOptional()`), what a host would write with no payout rules at all.
 */
class PlainStringsDto {
  @IsString() accountName!: string;
  @IsString() accountNo!: string;
  @IsOptional() @IsString() cciAccountNo?: string;
  @IsString() accountType!: string;
  @IsString() currency!: string;
  @IsString() amount!: string;
  @IsString() bankId!: string;
  @IsString() mchOrderNo!: string;
  @IsOptional() @IsString() notifyUrl?: string;
  @IsOptional() @IsString() idType?: string;
  @IsOptional() @IsString() idCard?: string;
  @IsOptional() @IsString() phone?: string;
  @IsOptional() @IsString() email?: string;
  @IsString() remark!: string;
}

const NOTIFY = 'https://pay.example.com/cashy/payout/notify';
// Every value a string, so the baseline accepts the valid samples (the DTO takes numeric strings).
const PEN: Record<string, unknown> = {
  accountName: 'Juan Perez',
  accountNo: '19112345678012',
  accountType: '1',
  currency: 'PEN',
  amount: '150.50',
  bankId: '3',
  mchOrderNo: 'PE-2025-000123',
  notifyUrl: NOTIFY,
  idType: '1',
  idCard: '45671234',
  remark: 'withdrawal',
};
const MXN: Record<string, unknown> = {
  accountName: 'Jose Hernandez',
  accountNo: '002010077777777771',
  accountType: '40',
  currency: 'MXN',
  amount: '1500',
  bankId: '80',
  mchOrderNo: 'MX-2025-000045',
  notifyUrl: NOTIFY,
  remark: 'retiro',
};
const INVALID: Record<string, unknown> = {
  ...PEN,
  accountName: 'José',
  amount: '9.99',
  bankId: '99',
  remark: '',
  mchOrderNo: 'M'.repeat(40),
  notifyUrl: 'nope',
  idType: '9',
};
const SAMPLES: Array<[string, Record<string, unknown>]> = [
  ['valid PEN', PEN],
  ['valid MXN', MXN],
  ['invalid PEN (7 broken fields)', INVALID],
];

type RulesCheck = (object: object, config: unknown) => unknown;

/**
 * Counts the rule-check passes of one `validate()` per sample, by wrapping the check that
 * `@MeetsPayoutRules` registered on each property (one wrapper per check, as the DTO shares one).
 * The check is restored before anything is timed.
 */
async function countRulePasses(inputs: Record<string, unknown>[]): Promise<number[]> {
  const metadatas = getMetadataStorage()
    .getTargetValidationMetadatas(CreatePayoutDto, '', true, false)
    .filter((m) => typeof m.constraints?.[0] === 'function');
  if (metadatas.length === 0) throw new Error('validation: CreatePayoutDto has no rule check');
  let passes = 0;
  const wrappers = new Map<RulesCheck, RulesCheck>();
  const originals = metadatas.map((m) => m.constraints[0] as RulesCheck);
  for (const [i, m] of metadatas.entries()) {
    const check = originals[i];
    if (!wrappers.has(check))
      wrappers.set(check, (object, config) => {
        passes++;
        return check(object, config);
      });
    m.constraints[0] = wrappers.get(check);
  }
  try {
    const counts: number[] = [];
    for (const input of inputs) {
      passes = 0;
      await validate(plainToInstance(CreatePayoutDto, input));
      counts.push(passes);
    }
    return counts;
  } finally {
    for (const [i, m] of metadatas.entries()) m.constraints[0] = originals[i];
  }
}

const properties = (errors: ValidationError[]) => errors.map((e) => e.property).sort();

/**
 * Times `validate()` (class-validator) of a fresh `CreatePayoutDto` per sample against the
 * baseline DTO fed the same body, in interleaved batches. For the invalid sample, the baseline's
 * body has the fields `CreatePayoutDto` rejects set to a number, so both report the same
 * properties and build as many errors. `CreatePayoutDto`'s constraint is resolved from a Nest app
 * with `PayoutModule`, so it checks the module's amount limits (as with Nest's `useContainer`
 * idiom); every other constraint, the baseline's included, comes from class-validator's own
 * container, so neither side pays a Nest lookup per property.
 */
export async function benchValidation(): Promise<ValidationResult> {
  @Module({
    imports: [
      EventEmitterModule.forRoot(),
      PayoutModule.forRoot({
        baseUrl: 'http://127.0.0.1:9',
        merchantId: '1002001',
        apiKey: 'bench-pen-key-5d41402abc4b2a76',
        webhook: false,
        reconciliation: false,
      }),
    ],
  })
  class ValidationModule {}
  const app = await NestFactory.createApplicationContext(ValidationModule, {
    logger: false,
  });
  const rulesClass = getMetadataStorage()
    .getTargetValidationMetadatas(CreatePayoutDto, '', true, false)
    .find((m) => m.constraintCls)?.constraintCls;
  if (!rulesClass) throw new Error('validation: CreatePayoutDto has no constraint class');
  const constraint: unknown = app.get(rulesClass);
  useContainer({ get: (cls) => (cls === rulesClass ? constraint : undefined) }, { fallback: true });
  try {
    const rows: ValidationRow[] = [];
    const ops: Array<{ cls: new () => object; input: Record<string, unknown> }> = [];
    for (const [sample, input] of SAMPLES) {
      const broken = properties(await validate(plainToInstance(CreatePayoutDto, input)));
      if (sample.startsWith('valid') !== (broken.length === 0))
        throw new Error(`validation: CreatePayoutDto reported [${broken.join()}] for ${sample}`);
      const plain = { ...input, ...Object.fromEntries(broken.map((field) => [field, 0])) };
      const baselineBroken = properties(await validate(plainToInstance(PlainStringsDto, plain)));
      if (baselineBroken.join() !== broken.join())
        throw new Error(
          `validation: the baseline reported [${baselineBroken.join()}] for ${sample}`,
        );
      ops.push({ cls: CreatePayoutDto, input }, { cls: PlainStringsDto, input: plain });
      rows.push({
        sample,
        brokenFields: broken,
        rulePasses: 0,
        usPerValidate: { dto: 0, baseline: 0 },
        ratio: 0,
        roundRatios: [],
      });
    }
    const passes = await countRulePasses(SAMPLES.map(([, input]) => input));

    const { batch, rounds } = BENCH.validation;
    const samples: number[][] = ops.map(() => []);
    let sink = 0; // keeps results alive so nothing is optimized away
    for (let r = 0; r <= rounds; r++) {
      // Rotate the order each round so no operation always runs right after the same one.
      for (const k of ops.map((_, i) => (i + r) % ops.length)) {
        const { cls, input } = ops[k];
        // A fresh instance per validate(), as each request body is: nothing carries over.
        const instances = Array.from({ length: batch }, () => plainToInstance(cls, input));
        const started = process.hrtime.bigint();
        for (const instance of instances) sink += (await validate(instance)).length + 1;
        const us = Number(process.hrtime.bigint() - started) / 1e3 / batch;
        if (r > 0) samples[k].push(us); // round 0 is the warm-up
      }
    }
    if (sink === 0) throw new Error('unreachable');
    for (const [i, row] of rows.entries()) {
      const [dto, baseline] = [samples[2 * i], samples[2 * i + 1]];
      row.rulePasses = passes[i];
      row.usPerValidate = { dto: round(median(dto), 2), baseline: round(median(baseline), 2) };
      row.roundRatios = dto.map((us, j) => round(us / baseline[j], 3));
      row.ratio = round(median(row.roundRatios), 3);
    }
    const fields = getMetadataStorage()
      .getTargetValidationMetadatas(CreatePayoutDto, '', true, false)
      .map((m) => m.propertyName);
    return { fields: new Set(fields).size, rows };
  } finally {
    useContainer({ get: () => undefined }, { fallback: true });
    await app.close();
  }
}
