// The rotator catalogue: for every built-in rotator and the example plug-ins, what validate and
// plan see (the policy pipeline in this thread and in the worker, targetKeyOf, plan flags) and
// what the engine sees (the rotator the runtime hands a run, its traits as the step handlers ask
// for them) are the same traits, because both read the one descriptor.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildRunContext } from '../../../src/engine/run-context.js';
import { silentLogger } from '../../../src/log.js';
import { loadPolicies } from '../../../src/policy/load.js';
import { policyPass } from '../../../src/policy/parallel/pass.js';
import { planEntry } from '../../../src/policy/plan.js';
import type { ResolvedSecret } from '../../../src/policy/types.js';
import {
  BUILT_IN_ROTATORS,
  builtInRotator,
  knownRotators,
  loadRotators,
  rotatorDescriptor,
  rotatorFor,
  rotatorTraits,
  targetKeyOf,
} from '../../../src/rotator/catalogue.js';
import type { RotatorTraits } from '../../../src/rotator/contract.js';
import { createEngineDeps, type RuntimeOptions } from '../../../src/runtime.js';
import type { RunRow } from '../../../src/state/runs.js';
import type { SecretStore } from '../../../src/store/contract.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FILE_PLUGIN = join(ROOT, 'test/fixtures/plugins/file-rotator.ts');
const EXAMPLE_SCRIPT = join(ROOT, 'examples/command-rotator/rotator.mjs');
const NOW = new Date('2025-06-02T10:00:00Z');

// The fixtures' plug-ins are trusted explicitly, as an operator would (README: Security → Trust model).
vi.stubEnv('ROTOR_PLUGIN_DIRS', `${join(ROOT, 'test/fixtures/plugins')}:${join(ROOT, 'examples')}`);
afterAll(() => vi.unstubAllEnvs());
const admin = 'env:ADMIN_URL';

/** One secret per set of params worth telling apart, with the traits the descriptor must give. */
const CASES: Array<{ id: string; yaml: string; traits: RotatorTraits }> = [
  {
    id: 'pg/alternating',
    yaml: `rotator: postgres\n    strategy: alternating-users\n    target: { host: DB.internal, database: app, users: [app_a, app_b], group: app, admin: ${admin} }`,
    traits: { overlap: true, drain: true, targetKey: 'postgres://db.internal:5432/app', revokesInherited: true },
  },
  {
    id: 'pg/alternating-port',
    yaml: `rotator: postgres\n    strategy: alternating-users\n    target: { host: db.internal, port: 5432, database: app, users: [app_c, app_d], group: app2, admin: ${admin} }`,
    // The default port written out or not: one target.
    traits: { overlap: true, drain: true, targetKey: 'postgres://db.internal:5432/app', revokesInherited: true },
  },
  {
    id: 'pg/single',
    yaml: `rotator: postgres\n    strategy: single-user\n    target: { host: db.internal, port: 6432, database: app, user: app_s, admin: ${admin} }`,
    traits: { overlap: false, drain: false, targetKey: 'postgres://db.internal:6432/app' },
  },
  {
    id: 'pg/single-admin-only',
    yaml: `rotator: postgres\n    strategy: single-user\n    target: { database: app, user: app_t, admin: ${admin} }`,
    traits: { overlap: false, drain: false, targetKey: 'postgres://(env:ADMIN_URL)/app' },
  },
  {
    id: 'mysql/dual',
    yaml: `rotator: mysql\n    target: { host: DB.internal, user: app, admin: ${admin} }`,
    traits: { overlap: true, drain: false, targetKey: 'mysql://db.internal:3306', revokesInherited: true },
  },
  {
    id: 'mysql/alternating',
    yaml: `rotator: mysql\n    strategy: alternating-users\n    target: { host: db.internal, port: 3306, users: [app_a, app_b], role: app, admin: ${admin} }`,
    traits: { overlap: true, drain: true, targetKey: 'mysql://db.internal:3306', revokesInherited: true },
  },
  {
    id: 'mysql/single',
    yaml: `rotator: mysql\n    strategy: single-user\n    target: { user: app_s, admin: ${admin} }`,
    traits: { overlap: false, drain: false, targetKey: 'mysql://(env:ADMIN_URL)', revokesInherited: true },
  },
  {
    id: 'ldap/alternating',
    yaml: `rotator: ldap\n    strategy: alternating-accounts\n    target: { url: 'ldaps://LDAP.internal', admin: { dn: 'cn=rotor,dc=x', password: ${admin} }, accounts: ['uid=a,dc=x', 'uid=b,dc=x'], group: 'cn=app,dc=x' }`,
    traits: { overlap: true, drain: false, targetKey: 'ldap://ldap.internal:636', revokesInherited: true },
  },
  {
    id: 'ldap/single-insecure',
    yaml: `rotator: ldap\n    target: { url: 'ldap://ldap.internal', startTLS: false, insecure: true, admin: { dn: 'cn=rotor,dc=x', password: ${admin} }, user: 'uid=s,dc=x' }`,
    traits: { overlap: false, drain: false, targetKey: 'ldap://ldap.internal:389', weakTransport: 'plain LDAP (insecure: true)' },
  },
  {
    id: 'rds/cluster',
    yaml: 'rotator: aws-rds-master\n    target: { clusterId: pay, region: eu-central-1 }',
    traits: { overlap: false, drain: false, targetKey: 'rds://eu-central-1/cluster/pay' },
  },
  {
    id: 'rds/instance',
    yaml: 'rotator: aws-rds-master\n    target: { instanceId: reports }',
    traits: { overlap: false, drain: false, targetKey: 'rds://default/instance/reports' },
  },
  {
    id: 'iam/deploy',
    yaml: 'rotator: aws-iam-access-key\n    target: { userName: ci-deploy, region: eu-central-1, deleteAfter: 3d }',
    traits: { overlap: true, drain: true, targetKey: 'iam://user/ci-deploy' },
  },
  {
    id: 'manual/portal',
    yaml: 'rotator: manual\n    target: { url: "https://partner.example/keys", instructions: Regenerate the API key }',
    traits: { overlap: false, drain: false, targetKey: 'manual://manual/portal' },
  },
  {
    id: 'random/a',
    yaml: 'rotator: random-secret',
    traits: { overlap: true, drain: false, storeIsTarget: true, targetKey: 'random-secret://random/a' },
  },
  {
    id: 'random/b',
    yaml: 'rotator: random-secret\n    generate: { length: 64, alphabet: hex }',
    traits: { overlap: true, drain: false, storeIsTarget: true, targetKey: 'random-secret://random/b' },
  },
  {
    id: 'random/previous',
    yaml: 'rotator: random-secret\n    target: { publishPrevious: true }',
    traits: { overlap: true, drain: false, storeIsTarget: true, publishesPrevious: true, targetKey: 'random-secret://random/previous' },
  },
  {
    id: 'redis/user',
    yaml: `rotator: redis-acl\n    target: { user: app, nodes: [{ host: b }, { host: a, port: 6380 }], admin: ${admin} }`,
    traits: {
      overlap: true,
      drain: false,
      targetKey: 'redis://a:6380,b:6379/app',
      revokesInherited: true,
      weakTransport: 'no TLS to b:6379, a:6380',
    },
  },
  {
    id: 'command/default',
    yaml: 'rotator: command\n    target: { executable: /usr/local/bin/rotate-acme }',
    traits: { overlap: false, drain: false, targetKey: 'command:///usr/local/bin/rotate-acme' },
  },
  {
    id: 'command/example',
    yaml: `rotator: command\n    overlap: true\n    target: { executable: ${EXAMPLE_SCRIPT}, args: [--quiet], inUse: true }`,
    traits: { overlap: true, drain: true, targetKey: `command://${EXAMPLE_SCRIPT} --quiet` },
  },
  {
    id: 'http/list',
    yaml: `rotator: http\n    target: { requests: { create: { method: POST, url: 'https://API.example.com/v1/keys', extract: { id: $.id, secret: $.secret } }, verify: { method: GET, url: 'https://api.example.com/v1/me', headers: { Authorization: 'Bearer {{ next.secret }}' } }, revoke: { method: DELETE, url: 'https://api.example.com/v1/keys/{{ current.id }}' }, list: { method: GET, url: 'https://api.example.com/v1/keys', extract: { id: '$.data[*].id' } } } }`,
    traits: { overlap: true, drain: false, targetKey: 'http://api.example.com', revokesInherited: true },
  },
  {
    id: 'plugin/file',
    yaml: `rotator: ${FILE_PLUGIN}\n    target: { file: /tmp/rotor-catalogue-fixture.json }`,
    traits: { overlap: true, drain: false, targetKey: 'file:///tmp/rotor-catalogue-fixture.json' },
  },
];

let dir: string;
let secrets: Map<string, ResolvedSecret>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rotor-catalogue-'));
  // Two files, so the worker thread gets work of its own (policyPass below).
  const half = Math.ceil(CASES.length / 2);
  const write = (name: string, cases: typeof CASES) =>
    writeFileSync(join(dir, name), `secrets:\n${cases.map((c) => `  - id: ${c.id}\n    ${c.yaml}\n`).join('')}`);
  write('a.yaml', CASES.slice(0, half));
  write('b.yaml', CASES.slice(half));
  const loaded = await loadPolicies(dir, { cwd: ROOT });
  expect(loaded.problems).toEqual([]);
  secrets = new Map(loaded.secrets.map((s) => [s.id, s]));
  await loadRotators([...new Set(loaded.secrets.map((s) => s.rotator.name))]);
});

/** The traits a run sees: the rotator the runtime gives the engine, asked as the step handlers ask. */
function engineTraits(secret: ResolvedSecret): RotatorTraits {
  const store = { backend: 'local' } as SecretStore;
  const opts = { log: silentLogger, stores: { local: store }, resolveRef: async () => '', nextDue: () => NOW } as unknown as RuntimeOptions;
  const run = { id: 'run-1', secretId: secret.id } as RunRow;
  const rc = buildRunContext(createEngineDeps(opts), run, secret, new AbortController().signal, new Map(), true);
  return rc.rotator.traits(rc.rotatorCtx.params, rc.rotatorCtx.secretId);
}

describe('the rotator catalogue', () => {
  it('lists every built-in rotator once, each under its own name', () => {
    const names = BUILT_IN_ROTATORS.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    expect(knownRotators()).toEqual(names);
    for (const d of BUILT_IN_ROTATORS) expect(builtInRotator(d.name)).toBe(d);
  });

  it('covers every built-in rotator and a plug-in in the cases below', () => {
    const named = new Set(CASES.map((c) => secrets.get(c.id)?.rotator.name));
    for (const name of knownRotators()) expect(named, name).toContain(name);
    expect(named).toContain(FILE_PLUGIN);
  });

  it.each(CASES)('$id: validate, plan and the engine see the same traits', async ({ id, traits }) => {
    const secret = secrets.get(id);
    if (!secret) throw new Error(`${id} did not validate`);
    const seenByValidate = rotatorTraits(secret);
    expect(seenByValidate).toEqual(traits);
    expect(targetKeyOf(secret)).toBe(traits.targetKey);
    const entry = planEntry(secret, NOW, null);
    expect(entry.targetKey).toBe(traits.targetKey);
    expect(entry.flags.some((f) => f.flag === 'no-overlap')).toBe(!traits.overlap);
    expect(engineTraits(secret)).toEqual(seenByValidate);
    // The implementation module itself (a built-in's default export, a plug-in's module) agrees.
    const descriptor = rotatorDescriptor(secret.rotator.name);
    const own = (await descriptor!.load()).default;
    expect(own.traits(own.paramsSchema.parse(secret.rotator.params), id)).toEqual(seenByValidate);
    expect(rotatorFor(secret.rotator.name).paramsSchema).toBe(descriptor!.paramsSchema);
  });

  it("gives the worker thread's plan the same target keys and flags as this thread's", async () => {
    const pass = await policyPass(dir, { mode: 'plan', now: NOW, cwd: ROOT, parallelAbove: 0, parallelFiles: 0, mainClaims: false });
    expect(pass.problems).toEqual([]);
    const byId = new Map(pass.entries.map((e) => [e.id, e]));
    for (const c of CASES) {
      const e = byId.get(c.id);
      expect(e?.targetKey, c.id).toBe(c.traits.targetKey);
      expect(
        e?.flags.some((f) => f.flag === 'no-overlap'),
        c.id,
      ).toBe(!c.traits.overlap);
    }
  }, 30_000);
});
