// References to credentials rotor itself needs (`env:NAME`, `file:PATH`, `aws-sm:ID`): parsing,
// and resolution at the moment of use, so a value never sits in a policy or in memory for long.
import { isAbsolute, resolve } from 'node:path';
import { InvalidInputError } from '../errors.js';
import { REF_PATTERN } from '../rotator/params.js';

export type RefKind = 'env' | 'file' | 'aws-sm' | 'vault';

export interface ParsedRef {
  kind: RefKind;
  /** The variable name, the path as written, or the Secrets Manager id. */
  name: string;
}

export function isRef(text: string): boolean {
  return REF_PATTERN.test(text);
}

export function parseRef(text: string): ParsedRef | undefined {
  if (!REF_PATTERN.test(text)) return undefined;
  const colon = text.indexOf(':');
  return { kind: text.slice(0, colon) as RefKind, name: text.slice(colon + 1) };
}

export interface ResolveRefOptions {
  /** Directory of the policy file that holds the reference: `file:` paths are relative to it. */
  baseDir: string;
  env: Readonly<Record<string, string | undefined>>;
  /** `baseDir` is passed on so the reader can hold the path to the roots allowed for it (ROTOR_REF_FILE_ROOTS). */
  readFile(path: string, baseDir: string): Promise<string>;
  /** Reads an AWS Secrets Manager secret; absent where rotor has no AWS access. */
  awsSecretsManager?: (id: string) => Promise<string>;
  /** Reads a Vault KV field (`vault:`); absent where rotor has no Vault settings. */
  vault?: (id: string) => Promise<string>;
}

/**
 * The value behind `ref`. Errors name the reference and never the value. A file's single
 * trailing newline is dropped, because editors and `echo` add one that is not part of the secret.
 */
export async function resolveRef(ref: string, opts: ResolveRefOptions): Promise<string> {
  const parsed = parseRef(ref);
  if (!parsed) {
    throw new InvalidInputError(`\`${ref}\` is not a reference`, {
      hint: 'write env:NAME, file:PATH or aws-sm:ID',
    });
  }
  const value = await read(parsed, opts);
  if (value === '') {
    throw new InvalidInputError(`reference ${ref} resolves to an empty value`, {
      hint: 'put the credential there; an empty credential is never valid',
    });
  }
  return value;
}

async function read(ref: ParsedRef, opts: ResolveRefOptions): Promise<string> {
  switch (ref.kind) {
    case 'env': {
      const value = opts.env[ref.name];
      if (value === undefined) {
        throw new InvalidInputError(`environment variable ${ref.name} is not set (reference env:${ref.name})`, {
          hint: `export ${ref.name} in rotor's environment`,
        });
      }
      return value;
    }
    case 'file': {
      const path = refFilePath(ref.name, opts.baseDir);
      try {
        return (await opts.readFile(path, opts.baseDir)).replace(/\r?\n$/, '');
      } catch (err) {
        if (err instanceof InvalidInputError) throw err;
        const code = (err as NodeJS.ErrnoException).code ?? 'error';
        throw new InvalidInputError(`cannot read ${path} (reference file:${ref.name}): ${code}`, {
          cause: err,
          hint: 'file: paths are relative to the policy file; check the path and that rotor may read it',
        });
      }
    }
    case 'aws-sm': {
      if (!opts.awsSecretsManager) {
        throw new InvalidInputError(`reference aws-sm:${ref.name} needs AWS Secrets Manager, which is not configured here`, {
          hint: 'run where rotor has AWS credentials, or use env: or file:',
        });
      }
      return opts.awsSecretsManager(ref.name);
    }
    case 'vault': {
      if (!opts.vault) {
        throw new InvalidInputError(`reference vault:${ref.name} needs Vault, which is not configured here`, {
          hint: 'run where rotor has VAULT_ADDR and a Vault login (docs/vault.md), or use env: or file:',
        });
      }
      return opts.vault(ref.name);
    }
  }
}

/** Where a `file:` reference points: relative paths start at the policy file's directory. */
export function refFilePath(path: string, baseDir: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}
