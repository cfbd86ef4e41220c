// Hostile values in otherwise well-formed policies: ids rotor cannot store, ARNs it cannot use,
// control characters, bad encodings, symlinked layouts, and file: references to devices and FIFOs.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runValidate } from '../../../src/cli/validate.js';
import { EXIT } from '../../../src/cli/exit-codes.js';
import { textSink } from '../../helpers/sink.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-values-'));
  dirs.push(dir);
  return dir;
}

function policyDir(files: Record<string, string | Buffer>): string {
  const dir = tempDir();
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

async function validate(dir: string, resolve = false): Promise<{ code: number; text: string }> {
  const s = textSink();
  const code = await runValidate({ dir, out: s.out, env: {}, ...(resolve ? { resolve } : {}) });
  return { code, text: s.text() };
}

const secret = (id: string, extra = '') => `secrets:\n  - id: ${id}\n    owner: team\n    rotator: random-secret\n${extra}`;

describe('values rotor cannot use', () => {
  it('refuses a secretId ARN that is not a Secrets Manager secret ARN, at file:line:col', async () => {
    for (const arn of [
      'arn:aws:rds:eu-central-1:123456789012:db:prod',
      'arn:aws:s3:::bucket/key',
      'arn:aws:secretsmanager::123456789012:secret:x',
    ]) {
      const r = await validate(
        policyDir({ 'p.yaml': secret('team/k', `    store: { backend: aws-secrets-manager, secretId: "${arn}" }\n`) }),
      );
      expect(r.code, arn).toBe(EXIT.USAGE);
      expect(r.text).toMatch(/p\.yaml:5:\d+: \[team\/k\] .*secretId.*arn:<partition>:secretsmanager:<region>:<account>:secret:<name>/);
    }
    const ok = await validate(
      policyDir({
        'p.yaml': secret(
          'team/k',
          '    store: { backend: aws-secrets-manager, secretId: "arn:aws:secretsmanager:eu-central-1:123456789012:secret:prod/db-AbCdEf" }\n',
        ),
      }),
    );
    expect(ok.text).toMatch(/^ok: 1 secret/);
  });

  it('refuses a secret id longer than the stores allow (512)', async () => {
    const r = await validate(policyDir({ 'p.yaml': secret(`team/${'a'.repeat(600)}`) }));
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.text).toMatch(/p\.yaml:2:9: .*605 characters; at most 512/);
  });

  it('prints control characters and bidi overrides in ids escaped, never raw', async () => {
    const r = await validate(policyDir({ 'p.yaml': secret('"team/\\e[31mred\\u202e\\r"') }));
    expect(r.code).toBe(EXIT.USAGE);
    // eslint-disable-next-line no-control-regex -- no control character may reach the output
    expect(r.text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f\u202e]/);
    expect(r.text).toContain('team/\\x1b[31mred\\u202e\\r');
  });

  it('reports invalid UTF-8 at its line and column instead of replacing it', async () => {
    const bytes = Buffer.concat([Buffer.from(secret('team/k', '    description: caf')), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]);
    const r = await validate(policyDir({ 'p.yaml': bytes }));
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.text).toMatch(/p\.yaml:5:21: the file is not valid UTF-8 here/);
  });
});

describe('symlinked policy layouts', () => {
  it('follows the symlinks of a Kubernetes ConfigMap volume (..data)', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, '..2026_01_01'));
    writeFileSync(join(dir, '..2026_01_01', 'team.yaml'), secret('team/k'));
    symlinkSync('..2026_01_01', join(dir, '..data'));
    symlinkSync('..data/team.yaml', join(dir, 'team.yaml'));
    mkdirSync(join(dir, 'more'));
    symlinkSync(join(dir, 'more'), join(dir, 'linked-dir'));
    writeFileSync(join(dir, 'more', 'other.yaml'), secret('team/other'));
    const r = await validate(dir);
    // more/other.yaml and linked-dir/other.yaml are one file: listed once.
    expect(r.text).toBe('ok: 2 secrets, 0 classes in 2 files\n');
  });

  it('refuses a symlink that leaves the policy directory, naming it', async () => {
    const outside = policyDir({ 'x.yaml': secret('team/x') });
    const dir = policyDir({ 'p.yaml': secret('team/k') });
    symlinkSync(join(outside, 'x.yaml'), join(dir, 'x.yaml'));
    await expect(validate(dir)).rejects.toThrow(/x\.yaml.*outside the policy directory/);
  });

  it('reports a symlink loop instead of hanging or skipping it', async () => {
    const dir = policyDir({ 'a/p.yaml': secret('team/k') });
    symlinkSync('..', join(dir, 'a', 'loop'));
    await expect(validate(dir)).rejects.toThrow(/loop.*symlink loop/);
  });
});

describe('validate --resolve and file: references', () => {
  const withRef = (ref: string) =>
    secret('team/k', `    consumers:\n      - { type: webhook, url: https://x.internal/reload, secret: "file:${ref}" }\n`);

  it('refuses FIFOs and devices at once instead of blocking or reading without end', async () => {
    const dir = policyDir({ 'p.yaml': withRef('hook.fifo') });
    expect(spawnSync('mkfifo', [join(dir, 'hook.fifo')]).status).toBe(0);
    for (const policy of [withRef('hook.fifo'), withRef('/dev/zero')]) {
      writeFileSync(join(dir, 'p.yaml'), policy);
      const t = performance.now();
      const r = await validate(dir, true);
      expect(r.code).toBe(EXIT.USAGE);
      expect(r.text).toMatch(/not a regular file/);
      expect(performance.now() - t).toBeLessThan(2_000);
    }
  });

  it('refuses a referenced file larger than ROTOR_REF_FILE_MAX_BYTES', async () => {
    const dir = policyDir({ 'p.yaml': withRef('big.key'), 'big.key': 'x'.repeat(2 * 1024 * 1024) });
    const r = await validate(dir, true);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.text).toContain('ROTOR_REF_FILE_MAX_BYTES');
  });
});

describe('output to a closed pipe', () => {
  it('exits quietly with 0 when the reader goes away (rotor validate | head -1)', async () => {
    const many = Array.from({ length: 3_000 }, (_, i) => `  - { id: team/s${i}, rotator: nope }`).join('\n');
    const dir = policyDir({ 'p.yaml': `secrets:\n${many}\n` });
    const child = spawn(process.execPath, [`${REPO}bin/rotor.js`, 'validate', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  }, 60_000);
});
