// The CLI loads only the command it runs: the list that stands in for the command modules in
// `rotor --help` must say what the modules say, and --version / --help must load none of them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, commandFor, nameOf, registerCommands, registerEveryCommand } from '../../../src/cli/commands.js';
import { ROTOR_BIN } from '../../helpers/cli.js';

const program = () => new Command().name('rotor').description('d').version('0.1.0').exitOverride();

describe('the command list', () => {
  it('lists every command as the modules register them, in the same order', async () => {
    const every = program();
    await registerEveryCommand(every);
    const listed = program();
    await registerCommands(listed, ['--help']);
    expect(listed.commands.map((c) => c.name())).toEqual(every.commands.map((c) => c.name()));
    expect(listed.helpInformation()).toBe(every.helpInformation());
  }, 30_000);

  it('finds the command to load from the first word, or the word after help', () => {
    expect(commandFor(['history', 'a/b', '--json'])?.term).toMatch(/^history /);
    expect(commandFor(['help', 'audit'])?.term).toMatch(/^audit /);
    expect(commandFor(['--version'])).toBeUndefined();
    expect(commandFor(['stauts'])).toBeUndefined();
    expect(new Set(COMMANDS.map(nameOf)).size).toBe(COMMANDS.length);
  });
});

describe('rotor --version and --help', () => {
  it('load no command module and none of their heavy dependencies', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-loaded-'));
    try {
      const log = join(dir, 'loaded.txt');
      writeFileSync(log, '');
      // A resolve hook records every module the process loads (ES imports, and CommonJS ones reached from them).
      writeFileSync(
        join(dir, 'hooks.mjs'),
        `import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }\n`,
      );
      writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`);
      for (const args of [['--version'], ['--help'], ['stauts']]) {
        writeFileSync(log, '');
        const r = spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), ROTOR_BIN, ...args], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(args[0] === 'stauts' ? 2 : 0);
        const loaded = readFileSync(log, 'utf8');
        expect(loaded, args[0]).toContain('/dist/src/cli/main.js');
        for (const heavy of [
          '/dist/src/cli/status.js',
          '/dist/src/cli/serve.js',
          '/dist/src/cli/context.js',
          '/node_modules/pg/',
          '/node_modules/bullmq/',
          '/node_modules/@aws-sdk/',
          '/node_modules/hono/',
          '/node_modules/zod/',
        ]) {
          expect(loaded, `${args[0]} loaded ${heavy}`).not.toContain(heavy);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
