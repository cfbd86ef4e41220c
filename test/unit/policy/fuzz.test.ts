// Seeded fuzzing of `rotor validate`: 10,000 mutated policy files (byte flips, truncation, repeated
// lines, deep nesting, huge scalars, odd unicode, tabs, anchors and alias bombs) must each end in
// exit 0 or 2 (never an internal error, exit 1) and in under 2 s of CPU. A failure prints the seed and the
// case so it can be replayed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runValidate } from '../../../src/cli/validate.js';
import { EXIT, exitCodeOf } from '../../../src/cli/exit-codes.js';

const SEED = 0x5eed_0014;
const CASES = 10_000;

const BASE = `classes:
  standard: { cadence: 90d, grace: 1d, retry: { attempts: 3, backoff: 2s } }
secrets:
  - id: team/api-key
    owner: team
    description: "the API key"
    class: standard
    tags: [api, prod]
    rotator: random-secret
    generate: { length: 48, alphabet: base64url }
    store: { backend: aws-secrets-manager, secretId: prod/team/api-key, region: eu-central-1 }
    consumers:
      - { type: env-file, path: run/team/api.env, key: API }
      - type: webhook
        url: https://api.internal/rotor/reload
        secret: env:TEAM_HOOK_KEY
  - id: team/db
    rotator: postgres
    strategy: alternating-users
    target: { host: pg.internal, database: app, users: [app_a, app_b], group: app, admin: env:PG_ADMIN_URL }
    window: { days: [mon, tue], hours: "02:00-05:00", tz: Europe/Berlin }
`;

/** mulberry32: small, seedable, good enough to pick mutations. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)] as T;

const ODD = [
  '\u0000',
  '\u001b[31m',
  '\u202e',
  '\u2028',
  '\ufeff',
  '\ud800',
  '\u{1f511}',
  'é',
  '\u0085',
  '\r',
  '\t',
  '\\',
  '"',
  "'",
  '#',
  ':',
  '- ',
  '&a ',
  '*a',
  '!!binary ',
  '%YAML 1.2',
  '---',
  '...',
  '<<: *a',
  '? ',
];

type Mutation = (r: Rand, b: Buffer) => Buffer;

const insertAt = (r: Rand, b: Buffer, what: string) => {
  const text = b.toString('utf8');
  const at = int(r, text.length);
  return Buffer.from(text.slice(0, at) + what + text.slice(at));
};

/** Cheap to validate: most cases get one to three of these. */
const LIGHT: Mutation[] = [
  // Byte flips.
  (r, b) => {
    const c = Buffer.from(b);
    for (let k = 1 + int(r, 8); k > 0; k--) c[int(r, c.length)] = int(r, 256);
    return c;
  },
  // Truncation.
  (r, b) => b.subarray(0, int(r, b.length)),
  // A line repeated (duplicate keys, duplicate ids).
  (r, b) => {
    const lines = b.toString('latin1').split('\n');
    const i = int(r, lines.length);
    lines.splice(i, 0, ...Array<string>(1 + int(r, 5)).fill(lines[i] as string));
    return Buffer.from(lines.join('\n'), 'latin1');
  },
  // Lines swapped or dropped.
  (r, b) => {
    const lines = b.toString('latin1').split('\n');
    const i = int(r, lines.length);
    const j = int(r, lines.length);
    [lines[i], lines[j]] = [lines[j] as string, lines[i] as string];
    if (r() < 0.5) lines.splice(int(r, lines.length), 1);
    return Buffer.from(lines.join('\n'), 'latin1');
  },
  // Odd characters and YAML indicators.
  (r, b) => {
    let c = b;
    for (let k = 1 + int(r, 4); k > 0; k--) c = insertAt(r, c, pick(r, ODD));
    return c;
  },
  // Tabs for spaces (sends the file to the full parser).
  (r, b) => Buffer.from(b.toString('utf8').replace(/ {2}/g, () => (r() < 0.3 ? '\t' : '  '))),
  // Anchors, aliases and alias bombs ("billion laughs").
  (r, b) => {
    const levels = 1 + int(r, 12);
    const bomb = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < levels; i++)
      bomb.push(
        `a${i}: &a${i} [${Array<string>(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const text = b.toString('utf8');
    if (r() < 0.5) return Buffer.from(`${bomb.join('\n')}\n${text}`);
    return Buffer.from(
      text
        .replace('tags: [api, prod]', 'tags: &t [api, prod]\n    description: *t')
        .replace('owner: team', `owner: &o ${'[[[['.repeat(8)}x${']]]]'.repeat(8)}\n    store: *o`),
    );
  },
];

/** 10-1,000 ms each: one case in 100 gets one, to keep the test near 30 s. */
const HEAVY: Mutation[] = [
  // Deep nesting, flow or block.
  (r, b) => {
    const n = pick(r, [63, 64, 65, 200, 5_000, 20_000]);
    const kind = int(r, 4);
    if (kind === 0) return insertAt(r, b, `${'['.repeat(n)}${']'.repeat(n)}`);
    if (kind === 1) return insertAt(r, b, `${'{a: '.repeat(n)}x${'}'.repeat(n)}`);
    if (kind === 2) return insertAt(r, b, `${'{a: ['.repeat(n)}${']}'.repeat(n)}`);
    return insertAt(r, b, `\n${Array.from({ length: Math.min(n, 1_000) }, (_, i) => `${' '.repeat(4 + i)}- x`).join('\n')}\n`);
  },
  // A huge scalar.
  (r, b) => insertAt(r, b, pick(r, ['x', 'é', '"', ' ', '\\u0041']).repeat(pick(r, [1_000, 100_000, 1_000_000]))),
  // Many keys in one map. Large maps that are broken YAML go to the yaml library (~1 µs of CPU a
  // byte): 30,000 keys keep that under 2 s; hostile-input.test.ts takes 50,000.
  (r, b) => {
    const n = pick(r, [100, 10_000, 30_000]);
    const keys = Array.from({ length: n }, (_, i) => `      k${i}: v`).join('\n');
    return Buffer.from(b.toString('utf8').replace('    rotator: postgres\n', `    rotator: postgres\n    target:\n${keys}\n`));
  },
];

describe('validate, fuzzed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-fuzz-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const out = new Writable({ write: (_c, _e, done) => done() });

  it(`ends ${CASES} mutated policy files (seed ${SEED}) in exit 0 or 2, each in under 2 s of CPU`, async () => {
    const r = prng(SEED);
    const base = Buffer.from(BASE);
    const failures: string[] = [];
    let slowest = 0;
    for (let n = 0; n < CASES && failures.length < 5; n++) {
      let file: Buffer = base;
      if (r() < 0.01) file = pick(r, HEAVY)(r, file);
      for (let k = 1 + int(r, 3); k > 0; k--) file = pick(r, LIGHT)(r, file);
      writeFileSync(join(dir, 'policy.yaml'), file);
      // CPU time, not wall time: the bound is about the work, on a machine other jobs may share.
      // The process's CPU time also counts its GC threads, so a case over the bound is measured once
      // more and the lower figure kept: a case that is really slow is over it both times.
      let { code, thrown, ms } = await validateTimed(dir, out);
      if (ms > 2_000) ({ code, thrown, ms } = minMs({ code, thrown, ms }, await validateTimed(dir, out)));
      slowest = Math.max(slowest, ms);
      const wrong = code !== EXIT.OK && code !== EXIT.USAGE ? `exit ${code}${thrown}` : ms > 2_000 ? `${Math.round(ms)} ms` : undefined;
      if (wrong) {
        const keep = join(tmpdir(), `rotor-fuzz-case-${n}.yaml`);
        writeFileSync(keep, file);
        failures.push(`case ${n}: ${wrong}; the file is in ${keep}`);
      }
    }
    expect(failures).toEqual([]);
    expect(slowest).toBeLessThan(2_000);
  }, 300_000);
});

/** Runs what the CLI runs for `rotor validate dir`, with its exit code and the CPU time it took. */
async function validateTimed(
  dir: string,
  out: Parameters<typeof runValidate>[0]['out'],
): Promise<{ code: number; thrown: string; ms: number }> {
  const t = process.cpuUsage();
  let code: number;
  let thrown = '';
  try {
    code = await runValidate({ dir, out, env: {} });
  } catch (err) {
    code = exitCodeOf(err);
    thrown = ` (${String(err)})`;
  }
  const used = process.cpuUsage(t);
  return { code, thrown, ms: (used.user + used.system) / 1_000 };
}

function minMs<T extends { ms: number }>(a: T, b: T): T {
  return b.ms < a.ms ? b : a;
}
