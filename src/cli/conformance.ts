// rotor conformance <rotator> [--params FILE] [--harness MODULE]: runs the rotator conformance
// suite (src/rotator/conformance.ts) against a live target, for plug-in authors and for checking a
// built-in rotator against a real system before trusting it with production credentials.
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { InvalidInputError } from '../errors.js';
import { lazyAwsRefReader } from '../aws/lazy-ref-reader.js';
import { lazyVaultRefReader } from '../store/vault-kv/lazy-ref-reader.js';
import { resolveRef } from '../policy/refs.js';
import { scrub } from '../redact.js';
import { readyToImport } from '../typescript-plugins.js';
import type { ConformanceHarness, CheckResult } from '../rotator/conformance.js';
import type { Rotator } from '../rotator/contract.js';
import { builtInRotator, loadRotators, rotatorFor } from '../rotator/catalogue.js';
import { isPluginSpec, pluginKey, requirePlugin } from '../rotator/plugins.js';
import { EXIT } from './exit-codes.js';

export interface ConformanceOptions {
  rotator: string;
  /** A JSON or YAML file: the rotator's parameters as a policy writes them (target, strategy, ...). */
  params?: string;
  /** A module whose default export is a ConformanceHarness, or an async function that makes one. */
  harness?: string;
  out: Writable;
  cwd?: string;
}

export function register(program: Command): void {
  program
    .command('conformance <rotator>')
    .description('run the rotator conformance suite against a live target (a built-in name, ./path/to/plugin.ts or npm:package)')
    .option('--params <file>', 'JSON or YAML file with the rotator parameters, as a policy writes them')
    .option('--harness <module>', 'module exporting a harness (params, openSession, ...) or an async function that makes one')
    .action(async (name: string, opts: { params?: string; harness?: string }) => {
      process.exitCode = await runConformanceCommand({ rotator: name, ...opts, out: process.stdout });
    });
}

/** What `rotor conformance` does; returns the exit code (7 when a check fails). */
export async function runConformanceCommand(opts: ConformanceOptions): Promise<number> {
  const cwd = opts.cwd ?? process.cwd();
  const rotator = await loadRotator(opts.rotator, cwd);
  const harness = await loadHarness(opts, cwd);
  const parsed = rotator.paramsSchema.safeParse(harness.params);
  if (!parsed.success) {
    await harness.close?.();
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(parameters)'}: ${i.message}`).join('; ');
    throw new InvalidInputError(`the parameters do not fit the ${rotator.name} rotator: ${issues}`, {
      hint: 'write them as under a secret in a policy (target, strategy, generate, overlap)',
    });
  }
  const { runConformance } = await import('../rotator/conformance.js');
  opts.out.write(`conformance of ${rotator.name}:\n`);
  const results = await runConformance(rotator, harness, (r) => opts.out.write(formatResult(r)));
  const passed = results.filter((r) => r.ok).length;
  const notRun = results.filter((r) => r.notRun).length;
  opts.out.write(`${passed} of ${results.length} checks passed${notRun ? `, ${notRun} not run (see above)` : ''}\n`);
  // A check the harness cannot feed is not the rotator's failure; it is said, never counted as passed.
  return passed + notRun === results.length ? EXIT.OK : EXIT.CHECK_FAILED;
}

function formatResult(r: CheckResult): string {
  if (r.ok) return `  ✓ ${r.check.name} (${r.ms} ms)\n`;
  if (r.notRun) return `  – ${r.check.name}\n      not run: ${r.notRun}\n`;
  const causes: string[] = [];
  for (let e: unknown = r.error; e instanceof Error && causes.length < 4; e = e.cause) causes.push(e.message);
  // Values the suite generated are tracked: whatever a rotator put in its errors is scrubbed here.
  return `  ✗ ${r.check.name}\n${scrub(causes.join('\n    caused by: ')).replace(/^/gm, '      ')}\n`;
}

async function loadRotator(name: string, cwd: string): Promise<Rotator<unknown>> {
  if (builtInRotator(name)) {
    await loadRotators([name]);
    return rotatorFor(name);
  }
  const key = isPluginSpec(name) ? pluginKey(name, join(cwd, 'conformance')) : undefined;
  if (!key) {
    throw new InvalidInputError(`\`${name}\` is neither a built-in rotator nor a plug-in`, {
      hint: 'name a built-in rotator, a file (./my-rotator.ts) or an npm package (npm:rotor-rotator-x)',
    });
  }
  // Named on the command line by the operator: that is the consent ROTOR_PLUGIN_DIRS gives policies.
  return requirePlugin(key, { namedByOperator: true });
}

async function loadHarness(opts: ConformanceOptions, cwd: string): Promise<ConformanceHarness> {
  if (opts.harness) {
    const path = resolve(cwd, opts.harness);
    let mod: { default?: unknown };
    try {
      await readyToImport(path);
      mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
    } catch (err) {
      throw new InvalidInputError(`cannot load the harness ${opts.harness}: ${scrub((err as Error).message)}`, {
        hint: 'check the path (relative to the working directory)',
      });
    }
    const made = typeof mod.default === 'function' ? await (mod.default as () => unknown)() : mod.default;
    if (!made || typeof made !== 'object' || typeof (made as ConformanceHarness).params !== 'object') {
      throw new InvalidInputError(`the harness ${opts.harness} does not export a harness`, {
        hint: 'export default { params: { target: {...} }, openSession?, resolveRef? } or an async function returning one',
      });
    }
    return made as ConformanceHarness;
  }
  if (opts.params) {
    const path = resolve(cwd, opts.params);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      throw new InvalidInputError(`cannot read ${opts.params}`, { hint: 'check the path (relative to the working directory)' });
    }
    let params: unknown;
    try {
      params = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    } catch (err) {
      throw new InvalidInputError(`${opts.params} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
    }
    if (!params || typeof params !== 'object' || Array.isArray(params))
      throw new InvalidInputError(`${opts.params} must hold a map of parameters (target, strategy, generate, ...)`);
    return {
      params: params as Record<string, unknown>,
      // References resolve as in a policy: file: paths relative to the parameter file.
      resolveRef: (ref) =>
        resolveRef(ref, {
          baseDir: dirname(path),
          env: process.env,
          readFile: (p) => readFile(p, 'utf8'),
          awsSecretsManager: lazyAwsRefReader(),
          vault: lazyVaultRefReader(),
        }),
    };
  }
  throw new InvalidInputError('say where the target is: --params FILE (parameters) or --harness MODULE (parameters and live sessions)');
}
