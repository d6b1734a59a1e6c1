import { CASHY_ENDPOINTS } from '../client/cashy-protocol';
import { isAbsent, isPlainObject, parseJson } from '../client/cashy-wire';
import type { PayoutCurrency } from '../payout.types';
import type { AmountLimits } from '../markets/payout-market.interface';
import { PAYOUT_MARKETS } from '../markets/payout-markets';
import { verifyCashySignature } from '../client/cashy-signature';
import { checkCreatePayout, type CashyPayOutBody } from '../validation/create-payout.rules';
import { errorReply, successReply } from './sandbox-conventions';
import { queryView, type SandboxLedger } from './sandbox-ledger';
import type { SandboxAccountState } from './sandbox-options.resolver';
import type { SandboxOrder, SandboxHttpReply } from './sandbox.types';

/** A request as the endpoints see it: the raw bytes, never a re-serialized body. */
export interface SandboxIncomingRequest {
  method: string;
  path: string;
  /** Lower-case names; a repeated header's values joined with `, `. */
  headers: Readonly<Record<string, string>>;
  raw: Buffer;
}

/** What the endpoints need from the sandbox. */
export interface SandboxEndpointContext {
  ledger: SandboxLedger;
  limits: Readonly<Record<PayoutCurrency, AmountLimits>>;
  now(): number;
  /** Refuse a payOut whose `mchOrderNo` the account already used (`dedupeMchOrderNo`). */
  dedupe: boolean;
  /** Called once for each order created, to start its timeline. */
  onCreated(order: SandboxOrder): void;
}

/** A payOut that passed every check and is ready to be booked with `commitSandboxPayOut`. */
export interface SandboxPendingPayOut {
  account: SandboxAccountState;
  body: CashyPayOutBody;
}

/** What checking a request gave: its answer, or a payOut still to be booked. */
export type SandboxCheckedRequest =
  | { reply: SandboxHttpReply; payOut?: undefined }
  | { payOut: SandboxPendingPayOut; reply?: undefined };

/** A processed request: its answer and, for a payOut that was booked, the new order (live object). */
export interface SandboxProcessedRequest {
  reply: SandboxHttpReply;
  created?: SandboxOrder;
}

type Json = Record<string, unknown>;

/** Cashy's `Params_<field>_Required` / `Params_<field>_error`. */
function paramsError(field: string, required: boolean): SandboxHttpReply {
  return errorReply(`Params_${field}_${required ? 'Required' : 'error'}`);
}

/** `checkSandboxRequest`, then `commitSandboxPayOut` for a payOut that passed; synchronous. */
export function processSandboxRequest(
  request: SandboxIncomingRequest,
  context: SandboxEndpointContext,
): SandboxProcessedRequest {
  const checked = checkSandboxRequest(request, context);
  return checked.payOut ? commitSandboxPayOut(checked.payOut, context) : { reply: checked.reply };
}

/**
 * Checks a request in a gateway's order: method, content type, body, `MerchantId`, `Sign` over the
 * raw bytes, JSON, `nonceStr`, then the endpoint's fields. A payOut that passes is returned to be
 * booked, so `late-commit` can book it later; anything else is answered.
 */
export function checkSandboxRequest(
  request: SandboxIncomingRequest,
  context: SandboxEndpointContext,
): SandboxCheckedRequest {
  const reply = (msg: string): SandboxCheckedRequest => ({ reply: errorReply(msg) });
  if (request.method !== 'POST') return reply('RequestMethod_not_post');
  const { headers } = request;
  const contentType = (headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (contentType !== 'application/json') return reply('RequestContentType_not_json');
  const text = request.raw.toString('utf8');
  if (text.trim().length === 0) return reply('RequestBody_is_null');

  const merchantId = headers.merchantid;
  if (isAbsent(merchantId)) return reply('MerchantId_is_null');
  if (!/^\d+$/.test(merchantId)) return reply('MerchantId_not_Number');
  const account = context.ledger.account(merchantId);
  if (!account) return reply('MerchantId_is_error');
  // A missing Sign is a failed verification: Cashy lists no separate message for it.
  if (!verifyCashySignature(request.raw, account.apiKey, headers.sign))
    return reply('Sign_verify_error');

  const body = parseJson(text);
  if (!isPlainObject(body)) return reply('Params_jsonFormat_error');
  if (isAbsent(body.nonceStr)) return { reply: paramsError('nonceStr', true) };
  if (typeof body.nonceStr !== 'string' || body.nonceStr.length > 32)
    return { reply: paramsError('nonceStr', false) };
  if (request.path === CASHY_ENDPOINTS.payOut) return checkPayOut(account, body, context);
  return { reply: answerRead(request.path, account, body, context) };
}

/** The answer of a read endpoint (payOutQuery, bankListQuery, balanceQuery). */
function answerRead(
  path: string,
  account: SandboxAccountState,
  body: Json,
  context: SandboxEndpointContext,
): SandboxHttpReply {
  if (path === CASHY_ENDPOINTS.payOutQuery) return payOutQuery(account, body, context);
  if (path === CASHY_ENDPOINTS.bankListQuery) {
    const banks = account.currencies.flatMap((currency) => PAYOUT_MARKETS[currency].banks);
    return successReply(
      banks.map(({ bankId, bankCode, bankName }) => ({ bankId, bankCode, bankName })),
    );
  }
  const balance = context.ledger.balance(account);
  return successReply({ mchId: account.merchantId, balance, unBalance: '0.00' });
}

function checkPayOut(
  account: SandboxAccountState,
  body: Json,
  context: SandboxEndpointContext,
): SandboxCheckedRequest {
  if (
    typeof body.currency === 'string' &&
    !account.currencies.includes(body.currency as PayoutCurrency)
  )
    return { reply: paramsError('currency', false) };
  const fields: Json = { ...body };
  delete fields.nonceStr;
  // The module's own rules, so the sandbox refuses exactly what the module would refuse; the first
  // broken rule becomes Cashy's message (unknown fields too: stricter than Cashy, to catch client bugs).
  const { errors, body: accepted } = checkCreatePayout(fields, {
    limits: context.limits,
    defaultNotifyUrl: undefined,
  });
  if (!accepted) return { reply: paramsError(errors[0].field, errors[0].rule === 'required') };
  const payOut = { account, body: accepted };
  return isRepeat(payOut, context) ? { reply: errorReply('Params_mchOrderNo_repeat') } : { payOut };
}

/** Whether the account already used this `mchOrderNo` and repeats are refused (`dedupe`). */
function isRepeat({ account, body }: SandboxPendingPayOut, context: SandboxEndpointContext) {
  return context.dedupe && !!context.ledger.byMerchantOrder(account.merchantId, body.mchOrderNo);
}

/**
 * Books a checked payOut and answers it. The repeat check is made again, as a unique key would at
 * commit time: a `late-commit` whose `mchOrderNo` was taken meanwhile books nothing.
 */
export function commitSandboxPayOut(
  pending: SandboxPendingPayOut,
  context: SandboxEndpointContext,
): SandboxProcessedRequest {
  if (isRepeat(pending, context)) return { reply: errorReply('Params_mchOrderNo_repeat') };
  const order = context.ledger.create(pending.account, pending.body, context.now());
  context.onCreated(order);
  const { merchantId, mchOrderNo, orderNo, amount, fee, orderStatus } = order;
  const reply = successReply({ merchantId, mchOrderNo, orderNo, amount, fee, orderStatus });
  return { reply, created: order };
}

function payOutQuery(account: SandboxAccountState, body: Json, context: SandboxEndpointContext) {
  const given = (field: 'orderNo' | 'mchOrderNo') => !isAbsent(body[field]);
  for (const field of ['orderNo', 'mchOrderNo'] as const) {
    if (given(field) && typeof body[field] !== 'string') return paramsError(field, false);
  }
  if (!given('orderNo') && !given('mchOrderNo')) return paramsError('orderNo', true);
  // orderNo first, as Cashy recommends; when both are given they must name the same order.
  let order: SandboxOrder | undefined;
  if (given('orderNo')) {
    const found = context.ledger.get(body.orderNo as string);
    order = found?.merchantId === account.merchantId ? found : undefined;
    if (order && given('mchOrderNo') && order.mchOrderNo !== body.mchOrderNo) order = undefined;
  } else {
    order = context.ledger.byMerchantOrder(account.merchantId, body.mchOrderNo as string);
  }
  return order ? successReply(queryView(order)) : errorReply('Order_not_exist');
}
