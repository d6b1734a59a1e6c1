import type { PostgresPayoutTables } from './postgres-payout.schema';

/** The server's clock in whole epoch ms: the one clock of every time this store writes (rule 11). */
export const SERVER_NOW_MS = `floor(extract(epoch from clock_timestamp()) * 1000)::bigint`;
/**
 * The same, fixed for the statement: a bound an index scan can use (clock_timestamp() is volatile,
 * so a comparison with it is evaluated row by row, over the whole table).
 */
const STATEMENT_NOW_MS = `floor(extract(epoch from statement_timestamp()) * 1000)::bigint`;

/**
 * Every statement `PostgresPayoutStore` sends, for one set of tables. Each operation is one
 * statement (one round trip), so it is atomic on its own and needs no transaction.
 */
export interface PostgresPayoutStatements {
  /** $1 orderNo → `record`. */
  getRecord: string;
  /** $1 mchOrderNo → `record` of the order last written under it. */
  findByMchOrderNo: string;
  /** $1…$13 the record's columns, $14 its JSON: writes only when no row exists (revision 0). */
  insertRecord: string;
  /** As `insertRecord`, $15 the expected revision: writes only over that revision. */
  updateRecord: string;
  /** $1 orderNo, $2 mchOrderNo → `record`, `attempt` and `sibling` (the order indexed by $2). */
  reportContext: string;
  /** `insertRecord` that, when it writes, also untracks $15 (in the same statement). */
  insertRecordUntrack: string;
  /** `updateRecord` that, when it writes, also untracks $16. */
  updateRecordUntrack: string;
  /** `insertRecord` that, when it writes, also tracks $15…$19 as `trackOpen`'s $1…$5. */
  insertRecordTrack: string;
  /** `updateRecord` that, when it writes, also tracks $16…$20 as `trackOpen`'s $1…$5. */
  updateRecordTrack: string;
  /** $1 mchOrderNo → `record`. */
  getAttempt: string;
  /** $1…$15 the attempt's columns, $16 its JSON: writes only when no row exists. */
  insertAttempt: string;
  /** As `insertAttempt`, $17 the expected revision. */
  updateAttempt: string;
  /** $1 mchOrderNo, $2 openedAt, $3 dueAt, $4 merchantId or null, $5 watchUntil or null. */
  trackOpen: string;
  /** $1 mchOrderNo. */
  untrackOpen: string;
  /** $1 now, $2 limit, $3 lease end → the entries taken, with the due time they had. */
  takeDueOpen: string;
  /** $1 limit → the first page by (openedAt, mchOrderNo). */
  listOpenFirst: string;
  /** $1 limit, $2 openedAt, $3 mchOrderNo of the cursor → the page after it. */
  listOpenAfter: string;
  /** → `all` and `watching`. */
  countOpen: string;
  /** $1 ttlMs, $2 batch size: deletes up to that many finished orders last written before the ttl. */
  purgeRecords: string;
  /** $1 ttlMs, $2 batch size: the same for create attempts. */
  purgeAttempts: string;
  /** → `now`, the server's epoch ms. */
  serverTime: string;
}

const OPEN_COLUMNS = `mch_order_no, due_at::text AS due_at, opened_at::text AS opened_at,
  merchant_id, watch_until::text AS watch_until`;

/** Builds the statements for `t`. */
export function postgresPayoutStatements(t: PostgresPayoutTables): PostgresPayoutStatements {
  const recordColumns = `mch_order_no, merchant_id, currency, amount, status, processed, reversed,
    claim_status, claim_token, claim_expires_at, revision, updated_at, record, written_at`;
  const recordValues = `$2, $3, $4, $5, $6, $7::text[], $8, $9, $10, $11, $12, $13, $14::jsonb, ${SERVER_NOW_MS}`;
  const attemptColumns = `merchant_id, currency, amount, state, resend_after, order_no, sent_at,
    lease_until, lease_token, notice_state, notice_claim_token, notice_claim_expires_at, revision,
    updated_at, record, written_at`;
  const attemptValues = `$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::jsonb, ${SERVER_NOW_MS}`;
  const insertRecord = `INSERT INTO ${t.orders} (order_no, ${recordColumns})
      VALUES ($1, ${recordValues}) ON CONFLICT (order_no) DO NOTHING`;
  // write_seq moves on with every write: findByMchOrderNo answers the order written last.
  const updateRecord = `UPDATE ${t.orders} SET (${recordColumns}, write_seq) =
      (${recordValues}, DEFAULT) WHERE order_no = $1 AND revision = $15`;
  // The first openedAt and watchUntil stay; the merchant stays unless a new one is named.
  const track = (p: number, only = '') => `INSERT INTO ${t.open} AS o
      (mch_order_no, opened_at, due_at, merchant_id, watch_until)
      SELECT $${p}, $${p + 1}::bigint, $${p + 2}::bigint, $${p + 3}::text, $${p + 4}::bigint ${only}
      ON CONFLICT (mch_order_no) DO UPDATE SET
        due_at = EXCLUDED.due_at,
        merchant_id = coalesce(EXCLUDED.merchant_id, o.merchant_id),
        watch_until = coalesce(o.watch_until, EXCLUDED.watch_until)`;
  // The open-index change rides on the write, in one statement: applied only if the record was.
  const withOpen = (write: string, change: string) => `WITH written AS (${write} RETURNING 1),
      changed AS (${change})
      SELECT count(*)::int AS written FROM written`;
  const onlyIfWritten = 'WHERE EXISTS (SELECT 1 FROM written)';
  const untrack = (p: number) =>
    `DELETE FROM ${t.open} WHERE mch_order_no = $${p} AND EXISTS (SELECT 1 FROM written)`;
  return {
    getRecord: `SELECT record::text AS record FROM ${t.orders} WHERE order_no = $1`,
    findByMchOrderNo: `SELECT record::text AS record FROM ${t.orders}
      WHERE mch_order_no = $1 ORDER BY write_seq DESC LIMIT 1`,
    insertRecord,
    updateRecord,
    reportContext: `SELECT
      (SELECT record::text FROM ${t.orders} WHERE order_no = $1) AS record,
      (SELECT record::text FROM ${t.attempts} WHERE mch_order_no = $2) AS attempt,
      (SELECT record::text FROM ${t.orders} WHERE mch_order_no = $2
        ORDER BY write_seq DESC LIMIT 1) AS sibling`,
    insertRecordUntrack: withOpen(insertRecord, untrack(15)),
    updateRecordUntrack: withOpen(updateRecord, untrack(16)),
    insertRecordTrack: withOpen(insertRecord, track(15, onlyIfWritten)),
    updateRecordTrack: withOpen(updateRecord, track(16, onlyIfWritten)),
    getAttempt: `SELECT record::text AS record FROM ${t.attempts} WHERE mch_order_no = $1`,
    insertAttempt: `INSERT INTO ${t.attempts} (mch_order_no, ${attemptColumns})
      VALUES ($1, ${attemptValues}) ON CONFLICT (mch_order_no) DO NOTHING`,
    updateAttempt: `UPDATE ${t.attempts} SET (${attemptColumns}) = (${attemptValues})
      WHERE mch_order_no = $1 AND revision = $17`,
    trackOpen: track(1),
    untrackOpen: `DELETE FROM ${t.open} WHERE mch_order_no = $1`,
    // SKIP LOCKED: a concurrent taker passes over the rows this one is leasing, never waits on
    // them. `= ANY(ARRAY(…))` keeps every step an index scan, whatever the batch size.
    takeDueOpen: `WITH due AS MATERIALIZED (
        SELECT mch_order_no, due_at FROM ${t.open} WHERE due_at <= $1
        ORDER BY due_at, mch_order_no LIMIT $2 FOR UPDATE SKIP LOCKED
      ), taken AS (
        UPDATE ${t.open} SET due_at = $3
        WHERE mch_order_no = ANY(ARRAY(SELECT mch_order_no FROM due))
        RETURNING mch_order_no, opened_at, merchant_id, watch_until
      )
      SELECT taken.mch_order_no, due.due_at::text AS due_at, taken.opened_at::text AS opened_at,
        taken.merchant_id, taken.watch_until::text AS watch_until
      FROM taken JOIN due ON due.mch_order_no = taken.mch_order_no
      ORDER BY due.due_at, taken.mch_order_no`,
    // Qualified: a bare name in ORDER BY would sort by the text output column of that name.
    listOpenFirst: `SELECT ${OPEN_COLUMNS} FROM ${t.open} AS o
      ORDER BY o.opened_at, o.mch_order_no LIMIT $1`,
    listOpenAfter: `SELECT ${OPEN_COLUMNS} FROM ${t.open} AS o
      WHERE (o.opened_at, o.mch_order_no) > ($2::bigint, $3::text COLLATE "C")
      ORDER BY o.opened_at, o.mch_order_no LIMIT $1`,
    countOpen: `SELECT count(*)::text AS "all", count(watch_until)::text AS watching FROM ${t.open}`,
    // Rule 10: never an order whose claim is live, nor one still open or watched. OFFSET 0 keeps
    // the open check a probe of its primary key per candidate: unnested into a join, the planner
    // may hash the whole open table instead.
    purgeRecords: `DELETE FROM ${t.orders} WHERE order_no = ANY(ARRAY(
        SELECT r.order_no FROM ${t.orders} AS r
        WHERE r.written_at < ${STATEMENT_NOW_MS} - $1
          AND (r.claim_expires_at IS NULL OR r.claim_expires_at <= ${STATEMENT_NOW_MS})
          AND NOT EXISTS (SELECT 1 FROM ${t.open} AS o WHERE o.mch_order_no = r.mch_order_no OFFSET 0)
        ORDER BY r.written_at LIMIT $2 FOR UPDATE SKIP LOCKED))`,
    // Rule 10: never a create being sent, of unknown outcome, leased, with a pending notice, or open.
    purgeAttempts: `DELETE FROM ${t.attempts} WHERE mch_order_no = ANY(ARRAY(
        SELECT a.mch_order_no FROM ${t.attempts} AS a
        WHERE a.written_at < ${STATEMENT_NOW_MS} - $1
          AND a.state IN ('created', 'rejected')
          AND a.notice_state IS DISTINCT FROM 'pending'
          AND (a.lease_until IS NULL OR a.lease_until <= ${STATEMENT_NOW_MS})
          AND NOT EXISTS (SELECT 1 FROM ${t.open} AS o WHERE o.mch_order_no = a.mch_order_no OFFSET 0)
        ORDER BY a.written_at LIMIT $2 FOR UPDATE SKIP LOCKED))`,
    serverTime: `SELECT ${SERVER_NOW_MS}::text AS now`,
  };
}
