import { PayoutStoreError } from '../payout.errors';
import type { PayoutReportContext, PayoutStore } from './payout-store.interface';

/**
 * What a report about `orderNo` under `mchOrderNo` is judged on: in one read when the store can
 * (`getReportContext`), else in three at once. Rejects with `PayoutStoreError`.
 */
export async function readReportContext(
  store: PayoutStore,
  orderNo: string,
  mchOrderNo: string,
): Promise<PayoutReportContext> {
  try {
    if (store.getReportContext) return await store.getReportContext(orderNo, mchOrderNo);
    const [record, attempt, sibling] = await Promise.all([
      store.get(orderNo),
      store.getAttempt(mchOrderNo),
      store.findByMchOrderNo(mchOrderNo),
    ]);
    return { record, attempt, sibling };
  } catch (error) {
    throw new PayoutStoreError('get', error);
  }
}
