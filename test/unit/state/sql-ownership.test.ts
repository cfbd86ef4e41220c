// src/state is the only module with SQL against rotor's tables (issue 13): every source file is
// scanned, and a query anywhere else fails this test with its file:line.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findRotorSql, scanFiles, sourceFiles } from './sql-scan.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCANNED = ['src', 'rotators', 'bin'];

/** The owner of rotor's tables. */
const OWNER = 'src/state/';

const findings = scanFiles(ROOT, sourceFiles(ROOT, SCANNED));

describe('SQL against rotor tables', () => {
  it('appears only in src/state', () => {
    const outside = findings.filter((f) => !f.where.startsWith(OWNER));
    expect(outside.map((f) => `${f.where}: ${f.text}`)).toEqual([]);
  });

  it('is found in src/state, so the scanner is looking at the right files', () => {
    const tables = new Set(findings.filter((f) => f.where.startsWith(OWNER)).map((f) => f.table));
    expect([...tables]).toEqual(expect.arrayContaining(['audit', 'run_consumers', 'runs', 'secrets', 'steps']));
  });
});

describe('the scanner', () => {
  it('names file:line of a query added outside src/state, in any literal form', () => {
    const text = [
      "import type pg from 'pg';",
      'export async function sneaky(pool: pg.Pool, id: string) {',
      "  await pool.query('select * from runs where id = $1', [id]);",
      '  await pool.query(`update secrets',
      '    set overdue_since = null where id = ${id}`);',
      '  const from = `from ${"x"} s',
      '    left join "public"."run_consumers" c on true`;',
      "  await pool.query('INSERT INTO audit (actor) values ($1)', ['x']);",
      '  await pool.query("delete from steps where run_id = $1", [id]);',
      '  await pool.query(String.raw`select 1 from alert_state`);',
      '  return from;',
      '}',
    ].join('\n');
    expect(findRotorSql('src/cli/sneaky.ts', text).map((f) => `${f.where} ${f.table}`)).toEqual([
      'src/cli/sneaky.ts:3 runs',
      'src/cli/sneaky.ts:4 secrets',
      'src/cli/sneaky.ts:7 run_consumers',
      'src/cli/sneaky.ts:8 audit',
      'src/cli/sneaky.ts:9 steps',
      'src/cli/sneaky.ts:10 alert_state',
    ]);
  });

  it('ignores comments, identifiers, other tables and words that only start like a table', () => {
    const text = [
      '// select * from runs: a comment is not SQL',
      '/* update secrets set x = 1 */',
      'const runs = steps.filter((s) => s.audit);',
      "const a = 'select * from store_versions join bullmq_jobs j on true';",
      "const b = 'create index runs_active on runs_x (id)';",
      "const c = 'imported from steps.ts, from audit-log and from secrets/app';",
    ].join('\n');
    expect(findRotorSql('src/x.ts', text)).toEqual([]);
  });
});
