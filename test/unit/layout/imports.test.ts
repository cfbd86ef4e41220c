// Which folder may import which: the map in docs/design.md ("The map of the code"), held here.
// A relative import (static or dynamic) from one folder into another that the map does not allow
// fails with the file and the import, so a layer cannot quietly start reaching into another.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The folders and what each may import besides itself. `src` is the files directly in src/. */
export const MAY_IMPORT: Record<string, readonly string[]> = {
  src: ['aws', 'consumers', 'engine', 'observe', 'policy', 'queue', 'rotator', 'state', 'store'],
  cli: ['src', 'aws', 'consumers', 'dashboard', 'embedded', 'engine', 'observe', 'policy', 'queue', 'rotator', 'state', 'store'],
  dashboard: ['src', 'engine', 'observe', 'policy', 'queue', 'state', 'store'],
  observe: ['src', 'net', 'policy', 'queue', 'state'],
  engine: ['src', 'consumers', 'policy', 'queue', 'rotator', 'state', 'store'],
  embedded: ['src', 'examples', 'net', 'policy', 'state', 'store'],
  state: ['src', 'policy'],
  queue: ['src'],
  policy: ['src', 'consumers', 'rotator', 'store'],
  rotator: ['src', 'policy', 'rotators'],
  consumers: ['src', 'aws', 'net', 'policy', 'rotator'],
  store: ['src', 'aws', 'rotator', 'state'],
  aws: ['src', 'store'],
  public: ['src', 'consumers', 'rotator', 'store'],
  net: ['src'],
  rotators: ['src', 'aws', 'net', 'policy', 'public', 'rotator', 'store'],
};

function folderOf(path: string): string | undefined {
  const parts = relative(ROOT, path).split('/');
  if (parts[0] === 'rotators') return 'rotators';
  if (parts[0] === 'examples') return 'examples';
  if (parts[0] !== 'src') return parts[0];
  return parts.length > 2 ? parts[1] : 'src';
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm;

/** `file: './x.js'` for every relative import that crosses into a folder the map does not allow. */
export function crossings(files: readonly string[], read: (f: string) => string = (f) => readFileSync(f, 'utf8')): string[] {
  const found: string[] = [];
  for (const file of files) {
    const from = folderOf(file);
    if (!from) continue;
    for (const m of read(file).matchAll(IMPORT)) {
      const to = folderOf(normalize(join(dirname(file), m[1] as string)));
      if (!to || to === from) continue;
      if (!(MAY_IMPORT[from] ?? []).includes(to)) found.push(`${relative(ROOT, file)}: ${from} → ${to} ('${m[1]}')`);
    }
  }
  return found;
}

describe('the map of the code', () => {
  const files = [...tsFiles(join(ROOT, 'src')), ...tsFiles(join(ROOT, 'rotators'))];

  it('every folder under src/ is on the map', () => {
    const folders = new Set(files.map(folderOf));
    expect([...folders].filter((f) => f && !(f in MAY_IMPORT))).toEqual([]);
  });

  it('no import crosses into a folder the map does not allow', () => {
    expect(crossings(files)).toEqual([]);
  });

  it('finds a crossing the map forbids (the state layer reaching into the engine)', () => {
    const file = join(ROOT, 'src', 'state', 'sneaky.ts');
    expect(crossings([file], () => "import { processRun } from '../engine/processor.js';\n")).toEqual([
      "src/state/sneaky.ts: state → engine ('../engine/processor.js')",
    ]);
  });
});
