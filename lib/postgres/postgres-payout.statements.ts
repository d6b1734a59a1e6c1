import type { PostgresPayoutTables } from './postgres-payout.schema';

/** The server's clock in whole epoch ms: the one clock of every time this store writes (rule 11). */
const SERVER_NOW_MS = `floor(extract(epoch from clock_timestamp()) * 1000)::bigint`;
/**
 * The same, fixed for the statement: a bound an index scan can use (clock_timestamp() is volatile,
 * so a comparison with it is evaluated row by row, over the whole table).
 */
const STATEMENT_NOW_MS = `floor(extract(epoch from statement_timestamp()) * 1000)::bigint`;

const OPEN_COLUMNS = `mch_order_no, due_at::text AS due_at, opened_at::text AS opened_at,
  merchant_id, watch_until::text AS watch_until`;

/**
 * Tracks $p…$p+4 (mchOrderNo, openedAt, dueAt, merchantId, watchUntil: `trackOpen`'s), `only` if
 * that holds. The first openedAt and watchUntil stay; the merchant stays unless a new one is named.
 */
function trackOpen(t: PostgresPayoutTables, p: number, only = ''): string {
  return `INSERT INTO ${t.open} AS o
      (mch_order_no, opened_at, due_at, merchant_id, watch_until)
      SELECT $${p}, $${p + 1}::bigint, $${p + 2}::bigint, $${p + 3}::text, $${p + 4}::bigint ${only}
      ON CONFLICT (mch_order_no) DO UPDATE SET
        due_at = EXCLUDED.due_at,
        merchant_id = coalesce(EXCLUDED.merchant_id, o.merchant_id),
        watch_until = coalesce(o.watch_until, EXCLUDED.watch_until)`;
}

/**
 * Every statement `PostgresPayoutStore` sends, for one set of tables, each with the parameters of
 * the `PayoutStore` method of its name. Each operation is one statement (one round trip), so it is
 * atomic on its own and needs no transaction.
 */
export function postgresPayoutStatements(t: PostgresPayoutTables) {
  // Orders: $1 orderNo; to write, $2…$13 the columns, $14 the JSON, and $15 the revision
  // `updateRecord` writes over (`insertRecord`: none stored). `…Untrack` and `…Track` also untrack
  // the next parameter, or track the next five, in the same statement, only on a write.
  const recordColumns = `mch_order_no, merchant_id, currency, amount, status, processed, reversed,
    claim_status, claim_token, claim_expires_at, revision, updated_at, record, written_at`;
  const recordValues = `$2, $3, $4, $5, $6, $7::text[], $8, $9, $10, $11, $12, $13, $14::jsonb, ${SERVER_NOW_MS}`;
  const insertRecord = `INSERT INTO ${t.orders} (order_no, ${recordColumns})
      VALUES ($1, ${recordValues}) ON CONFLICT (order_no) DO NOTHING`;
  // write_seq moves on with every write: findByMchOrderNo answers the order written last.
  const updateRecord = `UPDATE ${t.orders} SET (${recordColumns}, write_seq) =
      (${recordValues}, DEFAULT) WHERE order_no = $1 AND revision = $15`;
  const withOpen = (write: string, change: string) => `WITH written AS (${write} RETURNING 1),
      changed AS (${change})
      SELECT count(*)::int AS written FROM written`;
  const untrack = (p: number) =>
    `DELETE FROM ${t.open} WHERE mch_order_no = $${p} AND EXISTS (SELECT 1 FROM written)`;
  const onlyIfWritten = 'WHERE EXISTS (SELECT 1 FROM written)';
  // Attempts: $1 mchOrderNo; to write, $2…$15 the columns, $16 the JSON, $17 the revision.
  const attemptColumns = `merchant_id, currency, amount, state, resend_after, order_no, sent_at,
    lease_until, lease_token, notice_state, notice_claim_token, notice_claim_expires_at, revision,
    updated_at, record, written_at`;
  const attemptValues = `$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::jsonb, ${SERVER_NOW_MS}`;
  // Purges: $1 ttlMs, $2 batch size: deletes up to that many rows last written before the ttl,
  // never one still needed (rule 10). OFFSET 0 keeps the open check a probe of its primary key per
  // candidate: unnested into a join, the planner may hash the whole open table instead.
  return {
    getRecord: `SELECT record::text AS record FROM ${t.orders} WHERE order_no = $1`,
    findByMchOrderNo: `SELECT record::text AS record FROM ${t.orders}
      WHERE mch_order_no = $1 ORDER BY write_seq DESC LIMIT 1`,
    insertRecord,
    updateRecord,
    // $1 orderNo, $2 mchOrderNo; sibling: the order indexed by $2.
    reportContext: `SELECT
      (SELECT record::text FROM ${t.orders} WHERE order_no = $1) AS record,
      (SELECT record::text FROM ${t.attempts} WHERE mch_order_no = $2) AS attempt,
      (SELECT record::text FROM ${t.orders} WHERE mch_order_no = $2
        ORDER BY write_seq DESC LIMIT 1) AS sibling`,
    insertRecordUntrack: withOpen(insertRecord, untrack(15)),
    updateRecordUntrack: withOpen(updateRecord, untrack(16)),
    insertRecordTrack: withOpen(insertRecord, trackOpen(t, 15, onlyIfWritten)),
    updateRecordTrack: withOpen(updateRecord, trackOpen(t, 16, onlyIfWritten)),
    getAttempt: `SELECT record::text AS record FROM ${t.attempts} WHERE mch_order_no = $1`,
    insertAttempt: `INSERT INTO ${t.attempts} (mch_order_no, ${attemptColumns})
      VALUES ($1, ${attemptValues}) ON CONFLICT (mch_order_no) DO NOTHING`,
    updateAttempt: `UPDATE ${t.attempts} SET (${attemptColumns}) = (${attemptValues})
      WHERE mch_order_no = $1 AND revision = $17`,
    trackOpen: trackOpen(t, 1),
    untrackOpen: `DELETE FROM ${t.open} WHERE mch_order_no = $1`,
    // $1 now, $2 limit, $3 lease end. SKIP LOCKED: a concurrent taker passes over the rows this one
    // is leasing, never waits on them. `= ANY(ARRAY(…))` keeps every step an index scan.
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
    // $1 limit (then the cursor's openedAt and mchOrderNo). Qualified: a bare name in ORDER BY
    // would sort by the text output column of that name.
    listOpenFirst: `SELECT ${OPEN_COLUMNS} FROM ${t.open} AS o
      ORDER BY o.opened_at, o.mch_order_no LIMIT $1`,
    listOpenAfter: `SELECT ${OPEN_COLUMNS} FROM ${t.open} AS o
      WHERE (o.opened_at, o.mch_order_no) > ($2::bigint, $3::text COLLATE "C")
      ORDER BY o.opened_at, o.mch_order_no LIMIT $1`,
    countOpen: `SELECT count(*)::text AS "all", count(watch_until)::text AS watching FROM ${t.open}`,
    // Never an order whose claim is live, nor one still open or watched.
    purgeRecords: `DELETE FROM ${t.orders} WHERE order_no = ANY(ARRAY(
        SELECT r.order_no FROM ${t.orders} AS r
        WHERE r.written_at < ${STATEMENT_NOW_MS} - $1
          AND (r.claim_expires_at IS NULL OR r.claim_expires_at <= ${STATEMENT_NOW_MS})
          AND NOT EXISTS (SELECT 1 FROM ${t.open} AS o WHERE o.mch_order_no = r.mch_order_no OFFSET 0)
        ORDER BY r.written_at LIMIT $2 FOR UPDATE SKIP LOCKED))`,
    // Never a create being sent, of unknown outcome, leased, with a pending notice, or open.
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

/** The statements of one set of tables, by name. */
export type PostgresPayoutStatements = ReturnType<typeof postgresPayoutStatements>;
