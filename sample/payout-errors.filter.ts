/**
 * The sample answers the module's errors with the library's `PayoutExceptionFilter`, registered for
 * the whole app in `app.module.ts`. This name is kept only for `payouts.controller.ts`'s
 * `@UseFilters(PayoutErrorsFilter)`; once that line is gone, this file can go too.
 */
export { PayoutExceptionFilter as PayoutErrorsFilter } from 'nestjs-cashy-payout';
