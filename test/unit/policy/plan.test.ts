// `rotor plan`: next due times and the risk flags, as a table and as JSON.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runPlan } from '../../../src/cli/plan.js';
import { loadPolicies } from '../../../src/policy/load.js';
import { EntryPacker, EntryUnpacker, frozenText, planEntry } from '../../../src/policy/plan.js';
import { EXIT } from '../../../src/cli/exit-codes.js';
import { textSink } from '../../helpers/sink.js';

const DIR = fileURLToPath(new URL('../../fixtures/plan/', import.meta.url));
const AT = new Date('2025-06-02T10:00:00Z');

const sink = textSink;

interface JsonEntry {
  id: string;
  nextDue: string;
  neverRotated: boolean;
  flags: Array<{ flag: string; consumer?: string; others?: string[] }>;
  waves: Array<{ wave: number; consumers: string[] }>;
}

async function planJson(lookup?: Parameters<typeof runPlan>[0]['lookup']): Promise<JsonEntry[]> {
  const s = sink();
  expect(await runPlan({ dir: DIR, at: AT, json: true, out: s.out, ...(lookup ? { lookup } : {}) })).toBe(EXIT.OK);
  return JSON.parse(s.text()) as JsonEntry[];
}

describe('rotor plan', () => {
  it('makes never-rotated secrets due at the next window opening', async () => {
    const plan = await planJson();
    expect(plan.map((e) => [e.id, e.nextDue, e.neverRotated])).toEqual([
      ['shop/db-app', '2025-06-03T02:00:00.000Z', true],
      ['shop/db-reports', '2025-06-03T02:00:00.000Z', true],
      ['shop/api-key', '2025-06-03T02:00:00.000Z', true],
    ]);
  });

  it('flags single-credential strategies, short grace against a cache, missing owners and same-minute targets', async () => {
    const flags = Object.fromEntries((await planJson()).map((e) => [e.id, e.flags]));
    expect(flags['shop/db-app']).toEqual([
      { flag: 'grace-below-cache-ttl', consumer: 'api', cacheTtl: '1h' },
      // Alternating users never rotated by rotor: the other role's own password goes at the first revoke.
      { flag: 'revokes-inherited' },
      { flag: 'same-target-same-minute', others: ['shop/db-reports'] },
    ]);
    expect(flags['shop/db-reports']).toEqual([{ flag: 'no-overlap' }, { flag: 'same-target-same-minute', others: ['shop/db-app'] }]);
    expect(flags['shop/api-key']).toEqual([{ flag: 'no-owner' }]);
  });

  it('groups consumers by wave', async () => {
    const plan = await planJson();
    expect(plan[0]?.waves).toEqual([
      { wave: 1, consumers: ['api'] },
      { wave: 2, consumers: ['workers'] },
    ]);
  });

  it('takes last successes from the injected lookup', async () => {
    const plan = await planJson(
      async (ids) => new Map(ids.map((id) => [id, { lastSuccessAt: id === 'shop/db-app' ? new Date('2025-06-01T02:30:00Z') : null }])),
    );
    expect(plan[0]).toMatchObject({ id: 'shop/db-app', nextDue: '2025-07-01T02:30:00.000Z', neverRotated: false });
    // Due a month apart now: the shared target is no longer hit twice in one minute.
    expect(plan[0]?.flags.map((f) => f.flag)).toEqual(['grace-below-cache-ttl']);
  });

  it('prints an aligned table with every column, then a summary', async () => {
    const s = sink();
    await runPlan({ dir: DIR, at: AT, out: s.out });
    const lines = s.text().split('\n');
    expect(lines[0]).toMatch(/^ID +CLASS +CADENCE +ROTATOR +NEXT DUE \(UTC\) +GRACE +CONSUMERS +FLAGS$/);
    const flagsAt = (lines[0] as string).indexOf('FLAGS');
    expect(lines[1]).toContain('postgres/alternating-users');
    expect(lines[1]).toContain('never rotated, due 2025-06-03 02:00');
    expect(lines[1]).toContain('api → workers');
    expect((lines[1] as string).indexOf('grace-below-cache-ttl(api caches 1h)')).toBe(flagsAt);
    expect(s.text()).toContain('3 secrets; 2 same-target-same-minute, 1 grace-below-cache-ttl, 1 no-overlap, 1 no-owner');
  });

  it('refuses to plan invalid policies and exits 2', async () => {
    const s = sink();
    const dir = fileURLToPath(new URL('../../fixtures/policies/unknown-rotator/', import.meta.url));
    expect(await runPlan({ dir, at: AT, out: s.out })).toBe(EXIT.USAGE);
    expect(s.text()).toContain('unknown rotator `random`');
  });
});

describe('rotor plan: transport and inherited credentials', () => {
  it('flags a transport weaker than verified TLS, naming the choice', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'rotor-plan-tls-'));
    const pg = (id: string, extra: string) =>
      `  - id: ${id}\n    owner: t\n    rotator: postgres\n    strategy: single-user\n    target: { host: db${id.length}.internal, database: d, admin: env:ADMIN, user: u${id.length}${extra} }\n`;
    writeFileSync(join(dir, 'p.yaml'), `secrets:\n${pg('t/a', ', sslmode: prefer')}${pg('t/bb', '')}`);
    const s = sink();
    expect(await runPlan({ dir, at: AT, json: true, out: s.out })).toBe(EXIT.OK);
    const flags = Object.fromEntries((JSON.parse(s.text()) as JsonEntry[]).map((e) => [e.id, e.flags.map((f) => f.flag)]));
    expect(flags['t/a']).toContain('weak-tls');
    expect(flags['t/bb']).not.toContain('weak-tls');
    const table = sink();
    await runPlan({ dir, at: AT, out: table.out });
    expect(table.text()).toContain('weak-tls(sslmode=prefer)');
  });

  it('says which secrets will have an inherited credential revoked: redis-acl users never rotated by rotor', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'rotor-plan-inherited-'));
    writeFileSync(
      join(dir, 'p.yaml'),
      `secrets:
  - id: c/app
    owner: t
    rotator: redis-acl
    target: { user: app, nodes: [{ host: 127.0.0.1 }], admin: env:REDIS_ADMIN }
  - id: c/other
    owner: t
    rotator: redis-acl
    target: { user: other, nodes: [{ host: 127.0.0.1 }], admin: env:REDIS_ADMIN }
`,
    );
    const s = sink();
    const lookup = async (ids: readonly string[]) =>
      new Map(ids.map((id) => [id, { lastSuccessAt: id === 'c/other' ? new Date('2025-06-01T00:00:00Z') : null }]));
    expect(await runPlan({ dir, at: AT, json: true, out: s.out, lookup })).toBe(EXIT.OK);
    const flags = Object.fromEntries((JSON.parse(s.text()) as JsonEntry[]).map((e) => [e.id, e.flags.map((f) => f.flag)]));
    expect(flags['c/app']).toContain('revokes-inherited');
    // Rotated by rotor already: nothing inherited is left.
    expect(flags['c/other']).not.toContain('revokes-inherited');
  });

  it('flags the other account of a pair and retained passwords too (postgres alternating users, mysql), not a postgres single user', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'rotor-plan-inherited-'));
    writeFileSync(
      join(dir, 'p.yaml'),
      `secrets:
  - id: pg/alt
    owner: t
    rotator: postgres
    strategy: alternating-users
    target: { host: 127.0.0.1, database: app, admin: env:PG_ADMIN, users: [app_a, app_b], group: app }
  - id: pg/single
    owner: t
    rotator: postgres
    strategy: single-user
    target: { host: 127.0.0.1, database: app, admin: env:PG_ADMIN, user: app }
  - id: my/dual
    owner: t
    rotator: mysql
    strategy: dual-password
    target: { host: 127.0.0.1, admin: env:MY_ADMIN, user: app }
`,
    );
    const s = sink();
    const lookup = async (ids: readonly string[]) => new Map(ids.map((id) => [id, { lastSuccessAt: null }]));
    expect(await runPlan({ dir, at: AT, json: true, out: s.out, lookup })).toBe(EXIT.OK);
    const flags = Object.fromEntries((JSON.parse(s.text()) as JsonEntry[]).map((e) => [e.id, e.flags.map((f) => f.flag)]));
    expect(flags['pg/alt']).toContain('revokes-inherited');
    expect(flags['my/dual']).toContain('revokes-inherited');
    // Its apply replaces the only password the role has: nothing is left to revoke.
    expect(flags['pg/single']).not.toContain('revokes-inherited');
  });

  it('keeps which freeze moved a due time when an entry crosses from a worker thread', async () => {
    const [entry] = (await loadPolicies(DIR)).secrets.map((secret) => planEntry(secret, AT, null));
    const frozen = {
      ...entry!,
      frozen: { until: new Date('2025-06-30T23:00:00Z'), text: '3d from "0 23 L * *" UTC', reason: 'month-end-close' },
    };
    const packer = new EntryPacker();
    const unpacker = new EntryUnpacker();
    const packed = [packer.pack(frozen), packer.pack(entry!)];
    unpacker.add(packer.fresh());
    expect(packed.map((p) => unpacker.unpack(p))).toEqual([frozen, entry]);
    expect(frozenText(frozen.frozen)).toBe('frozen until 2025-06-30 23:00 (freeze month-end-close)');
  });
});
