import type { SandboxHttpReply } from './sandbox-records.interface';

/**
 * Envelope `code` of every `msg` the sandbox answers with. Cashy publishes the `msg` strings but not
 * which `code` goes with each, so the sandbox picks the convention of Cashy's older docs (`401` =
 * no access, `500` = error) and `400` for everything the caller sent wrong. The HTTP status is 200
 * for every envelope, as in Cashy's samples; only an unknown path gets HTTP 404 (with an envelope),
 * only the `http-500` fault gets HTTP 500, and the `reply` fault sends whatever it was given.
 *
 * | code | msg |
 * |---|---|
 * | 200 | `SUCCESS` |
 * | 400 | `RequestMethod_not_post`, `RequestContentType_not_json`, `RequestBody_is_null`, `Params_jsonFormat_error` |
 * | 400 | `Params_<field>_Required`, `Params_<field>_error`, `Params_mchOrderNo_repeat`, `Order_not_exist` |
 * | 401 | `MerchantId_is_null`, `MerchantId_not_Number`, `MerchantId_is_error`, `Sign_verify_error` |
 * | 404 | `Request_path_not_found` (HTTP 404 as well) |
 * | 500 | `System_busy`, `System_error` |
 *
 * `Params_mchOrderNo_repeat` (a reused `mchOrderNo`) and `Order_not_exist` (a query for an order
 * the merchant does not have) are the sandbox's own wording: Cashy does not publish either.
 */
export const SANDBOX_ERROR_CODES: Readonly<Record<string, number>> = {
  RequestMethod_not_post: 400,
  RequestContentType_not_json: 400,
  RequestBody_is_null: 400,
  Params_jsonFormat_error: 400,
  Params_mchOrderNo_repeat: 400,
  Order_not_exist: 400,
  MerchantId_is_null: 401,
  MerchantId_not_Number: 401,
  MerchantId_is_error: 401,
  Sign_verify_error: 401,
  Request_path_not_found: 404,
  System_busy: 500,
  System_error: 500,
};

/** The envelope code of a failure `msg` (see `SANDBOX_ERROR_CODES`; `Params_*` → 400, `System_*` → 500). */
export function envelopeCodeOf(msg: string): number {
  const known = SANDBOX_ERROR_CODES[msg];
  if (known !== undefined) return known;
  if (msg.startsWith('Params_')) return 400;
  if (msg.startsWith('System_')) return 500;
  return 400;
}

/** `{"code":200,"msg":"SUCCESS","data":…}` with HTTP 200. */
export function successReply(data: unknown): SandboxHttpReply {
  return { httpStatus: 200, body: JSON.stringify({ code: 200, msg: 'SUCCESS', data }) };
}

/** `{"code":…,"msg":…}` without `data`, as Cashy's failure example shows; HTTP 200 unless told. */
export function errorReply(msg: string, httpStatus = 200): SandboxHttpReply {
  return { httpStatus, body: JSON.stringify({ code: envelopeCodeOf(msg), msg }) };
}
