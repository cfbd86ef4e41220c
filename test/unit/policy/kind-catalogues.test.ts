// Every kind is declared once: each descriptor folder of rotators, consumers and stores is listed
// exactly once in its catalogue, and what validate accepts (and names in its hints) is the catalogue.
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUILT_IN_CONSUMERS, knownConsumerTypes } from '../../../src/consumers/catalogue.js';
import { BUILT_IN_ROTATORS } from '../../../src/rotator/catalogue.js';
import { loadPolicies } from '../../../src/policy/load.js';
import { BUILT_IN_STORES, knownStores } from '../../../src/store/catalogue.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Default exports of every `<dir>/<kind>/descriptor.ts`, by folder name. */
async function descriptorsIn(dir: string): Promise<Map<string, unknown>> {
  const found = new Map<string, unknown>();
  for (const name of readdirSync(join(ROOT, dir))) {
    const file = join(ROOT, dir, name, 'descriptor.ts');
    if (!statSync(join(ROOT, dir, name)).isDirectory() || !statSync(file, { throwIfNoEntry: false })) continue;
    found.set(name, ((await import(file)) as { default: unknown }).default);
  }
  return found;
}

function policyWith(secrets: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-kinds-'));
  writeFileSync(join(dir, 'p.yaml'), `secrets:\n${secrets}`);
  return dir;
}

describe('the kind catalogues', () => {
  it.each([
    ['rotators', 'rotators', BUILT_IN_ROTATORS as readonly unknown[], (d: unknown) => (d as { name: string }).name],
    ['consumers', 'src/consumers', BUILT_IN_CONSUMERS as readonly unknown[], (d: unknown) => (d as { type: string }).type],
    ['stores', 'src/store', BUILT_IN_STORES as readonly unknown[], (d: unknown) => (d as { backend: string }).backend],
  ])("list every %s descriptor folder exactly once, under the folder's name", async (_what, dir, listed, nameOf) => {
    const folders = await descriptorsIn(dir);
    expect(folders.size).toBeGreaterThan(1);
    expect(listed).toHaveLength(folders.size);
    for (const [folder, descriptor] of folders) {
      expect(
        listed.filter((d) => d === descriptor),
        folder,
      ).toHaveLength(1);
      expect(nameOf(descriptor)).toBe(folder);
    }
  });

  it('validates exactly the consumer types and store backends the catalogues list', async () => {
    const okConsumers: Record<string, string> = {
      webhook: '{ type: webhook, url: "https://app.internal/reload", secret: "env:HOOK_KEY" }',
      'env-file': '{ type: env-file, path: app.env }',
      command: '{ type: command, run: /usr/local/bin/reload }',
      notify: '{ type: notify, url: "env:SLACK_URL" }',
      ecs: '{ type: ecs, cluster: prod, services: [web] }',
      kubernetes: '{ type: kubernetes, namespace: payments, workloads: [{ kind: Deployment, name: api }] }',
    };
    const okStores: Record<string, string> = {
      local: '{ backend: local }',
      'aws-secrets-manager': '{ backend: aws-secrets-manager, secretId: prod/x }',
      kubernetes: '{ backend: kubernetes, namespace: payments, name: db-app }',
      'vault-kv': '{ backend: vault-kv, path: prod/x }',
    };
    expect(Object.keys(okConsumers).sort()).toEqual(knownConsumerTypes().sort());
    expect(Object.keys(okStores).sort()).toEqual(knownStores().sort());
    const secrets = [
      ...Object.entries(okConsumers).map(([t, c]) => `  - { id: c/${t}, rotator: random-secret, consumers: [${c}] }\n`),
      ...Object.entries(okStores).map(([b, s]) => `  - { id: s/${b}, rotator: random-secret, store: ${s} }\n`),
    ];
    const ok = await loadPolicies(policyWith(secrets.join('')));
    expect(ok.problems).toEqual([]);
    expect(ok.secrets).toHaveLength(secrets.length);

    const bad = await loadPolicies(
      policyWith(
        [
          '  - { id: x/consumer, rotator: random-secret, consumers: [{ type: zzzz }] }\n',
          '  - { id: x/store, rotator: random-secret, store: { backend: zzzz } }\n',
        ].join(''),
      ),
    );
    const byCode = Object.fromEntries(bad.problems.map((p) => [p.code, p]));
    expect(byCode['unknown-consumer-type']?.hint).toBe(`known types: ${knownConsumerTypes().join(', ')}`);
    expect(byCode['unknown-store']?.hint).toBe(`known backends: ${knownStores().join(', ')}`);
  });
});
