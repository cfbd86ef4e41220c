// Problems point at the same file:line:col whichever parser read the file: the fast parser's
// positions (recorded on a second pass, for files with problems) agree with the yaml library's.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parsePolicySource, type PathSegment } from '../../../src/policy/yaml/source.js';
import { fastParse } from '../../../src/policy/yaml/fast-parse.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && /\.ya?ml$/.test(e.name)).map((e) => join(e.parentPath, e.name));
}

/** Every path in the value, and one missing field under each map. */
function paths(value: unknown, path: PathSegment[] = [], out: PathSegment[][] = []): PathSegment[][] {
  out.push(path);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...path, i], out));
  else if (value !== null && typeof value === 'object') {
    out.push([...path, 'no-such-field', 'below']);
    for (const [k, v] of Object.entries(value)) paths(v, [...path, k], out);
  }
  return out;
}

const EXTRA = [
  'secrets:\n  - id: a\n    empty:\n    nul: ~\n    flow: { a: 1, b: , c: [x, { d: e }] }\n    list:\n    - one\n    -\n      nested: 1\n',
  '# comment first\n\nsecrets:\n- { id: a, tags: [x, y] }\n- id: b\n  store:\n    backend: local\n',
];

describe('locating a path', () => {
  it('gives the same position from the fast parser as from the yaml library, for every path', async () => {
    const files = [...(await yamlFiles(join(REPO, 'policies'))), ...(await yamlFiles(join(REPO, 'test/fixtures')))];
    const texts = [...(await Promise.all(files.map((f) => readFile(f, 'utf8')))), ...EXTRA];
    let compared = 0;
    for (const text of texts) {
      const fast = fastParse(text);
      if (!fast) continue;
      const viaFast = parsePolicySource('/p.yaml', 'p.yaml', text);
      // A tab in a comment: the fast parser declines, the yaml library reads the same content.
      const viaYaml = parsePolicySource('/p.yaml', 'p.yaml', `${text}\n#\t\n`);
      for (const path of paths(fast.value)) {
        for (const at of ['key', 'value'] as const) {
          expect({ path, at, pos: viaFast.locate(path, at) }).toEqual({ path, at, pos: viaYaml.locate(path, at) });
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(1_000);
  });
});
