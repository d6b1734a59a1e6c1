import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { PostgresPayoutStore } from '../../lib/postgres';
import { postgresPayoutStatements } from '../../lib/postgres/postgres-payout.statements';
import { describeWithPostgres, PostgresServer } from './postgres-server';

const ROWS = 20_000;
const DOC = join(__dirname, '..', '..', 'docs', 'postgres-store.md');
const BEGIN =
  '<!-- plans:begin (written by test/postgres/postgres-plans.spec.ts; UPDATE_DOCS=1 rewrites it) -->';
const END = '<!-- plans:end -->';

interface PlanNode {
  'Node Type': string;
  Operation?: string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Conflict Arbiter Indexes'?: string[];
  'Subplan Name'?: string;
  'CTE Name'?: string;
  Plans?: PlanNode[];
}

/** A plan as lines of node types, relations and indexes (no costs, which vary from run to run). */
function outline(node: PlanNode, depth = 0): string[] {
  const parts = [node['Node Type']];
  if (node['Index Name']) parts.push(`using ${node['Index Name']}`);
  if (node['Relation Name']) parts.push(`on ${node['Relation Name']}`);
  if (node['CTE Name']) parts.push(`on ${node['CTE Name']}`);
  if (node['Conflict Arbiter Indexes'])
    parts.push(`(conflict arbiter ${node['Conflict Arbiter Indexes'].join(', ')})`);
  if (node['Subplan Name']) parts.unshift(`[${node['Subplan Name']}]`);
  return [
    `${'  '.repeat(depth)}${parts.join(' ')}`,
    ...(node.Plans ?? []).flatMap((child) => outline(child, depth + 1)),
  ];
}

/**
 * No full-table scan on the hot path: every statement the store sends per webhook, per create and
 * per sweep is planned, against tables of 20,000 rows each, as index scans only. The outlines are
 * kept in docs/postgres-store.md, and this test fails when they no longer match.
 */
describeWithPostgres('PostgresPayoutStore query plans', () => {
  let server: PostgresServer;
  let pool: Pool;
  let store: PostgresPayoutStore;

  beforeAll(async () => {
    server = await PostgresServer.start();
    pool = await server.createDatabase('plans');
    store = new PostgresPayoutStore({ pool, purgeIntervalMs: 0 });
    await store.migrate();
    const t = store.tables;
    const now = `floor(extract(epoch from clock_timestamp()) * 1000)::bigint`;
    // Written over the last 48.3 h: the oldest few are past the 48 h retention, as in steady state
    // (the purge runs every minute).
    await pool.query(`INSERT INTO ${t.orders} (order_no, mch_order_no, merchant_id, currency, amount,
        status, processed, reversed, revision, updated_at, written_at, record)
      SELECT 'PAYOUT' || i, 'MCH' || i, '1002001', 'PEN', '150.50', 'SUCCESS', '{SUCCESS}', false, 2,
        ${now} - i * 8700, ${now} - i * 8700, '{}'::jsonb
      FROM generate_series(1, ${ROWS}) AS i`);
    await pool.query(`INSERT INTO ${t.attempts} (mch_order_no, merchant_id, currency, amount, state,
        resend_after, order_no, revision, updated_at, written_at, record)
      SELECT 'MCH' || i, '1002001', 'PEN', '150.50', 'created', 0, 'PAYOUT' || i, 2,
        ${now} - i * 8700, ${now} - i * 8700, '{}'::jsonb
      FROM generate_series(1, ${ROWS}) AS i`);
    // Open payouts: most due in the future, a few due now.
    await pool.query(`INSERT INTO ${t.open} (mch_order_no, opened_at, due_at, merchant_id)
      SELECT 'OPEN' || i, ${now} - i * 1000, ${now} + (i - 50) * 1000, '1002001'
      FROM generate_series(1, ${ROWS}) AS i`);
    await pool.query(`ANALYZE ${t.orders}, ${t.attempts}, ${t.open}`);
  });
  afterAll(async () => {
    await store?.close();
    await pool?.end();
    await server?.dispose();
  });

  it('plans every hot statement as index scans, as docs/postgres-store.md shows', async () => {
    const sql = postgresPayoutStatements(store.tables);
    const now = Date.now();
    const record = Array.from({ length: 12 }, () => null);
    const attempt = Array.from({ length: 14 }, () => null);
    const statements: [string, string, unknown[]][] = [
      ['get', sql.getRecord, ['PAYOUT77']],
      ['findByMchOrderNo', sql.findByMchOrderNo, ['MCH77']],
      ['compareAndSet (revision 0)', sql.insertRecord, ['PAYOUT77', ...record, '{}']],
      ['compareAndSet', sql.updateRecord, ['PAYOUT77', ...record, '{}', 1]],
      ['getReportContext', sql.reportContext, ['PAYOUT77', 'MCH77']],
      [
        'compareAndSet + untrackOpen',
        sql.updateRecordUntrack,
        ['PAYOUT77', ...record, '{}', 1, 'OPEN77'],
      ],
      [
        'compareAndSet + trackOpen',
        sql.updateRecordTrack,
        ['PAYOUT77', ...record, '{}', 1, 'OPEN77', now, now, null, now],
      ],
      ['getAttempt', sql.getAttempt, ['MCH77']],
      ['compareAndSetAttempt (revision 0)', sql.insertAttempt, ['MCH77', ...attempt, '{}']],
      ['compareAndSetAttempt', sql.updateAttempt, ['MCH77', ...attempt, '{}', 1]],
      ['trackOpen', sql.trackOpen, ['OPEN77', now, now, null, null]],
      ['untrackOpen', sql.untrackOpen, ['OPEN77']],
      ['takeDueOpen', sql.takeDueOpen, [now, 100, now + 60_000]],
      ['listOpen (first page)', sql.listOpenFirst, [100]],
      ['listOpen (after a cursor)', sql.listOpenAfter, [100, now - 5_000_000, 'OPEN5000']],
      ['purgeExpired (orders)', sql.purgeRecords, [store.ttlMs, store.purgeBatchSize]],
      ['purgeExpired (attempts)', sql.purgeAttempts, [store.ttlMs, store.purgeBatchSize]],
    ];
    const sections: string[] = [];
    for (const [name, text, values] of statements) {
      const { rows } = await pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        `EXPLAIN (FORMAT JSON) ${text}`,
        values,
      );
      const lines = outline(rows[0]['QUERY PLAN'][0].Plan);
      expect([name, lines.filter((line) => /Seq Scan/.test(line)).length ? lines : []]).toEqual([
        name,
        [],
      ]);
      sections.push(`${name}:\n${lines.map((line) => `  ${line}`).join('\n')}`);
    }
    const block = `${BEGIN}\n\n\`\`\`text\n${sections.join('\n\n')}\n\`\`\`\n\n${END}`;
    const doc = readFileSync(DOC, 'utf8');
    const start = doc.indexOf(BEGIN);
    const end = doc.indexOf(END);
    expect([start, end].every((i) => i >= 0)).toBe(true);
    const current = doc.slice(start, end + END.length);
    if (process.env.UPDATE_DOCS && current !== block) {
      writeFileSync(DOC, doc.slice(0, start) + block + doc.slice(end + END.length));
      return;
    }
    expect(current).toBe(block);
  });
});
