// The fast policy parser gives exactly what the `yaml` library gives, or declines the file.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { fastParse } from '../../../src/policy/yaml/fast-parse.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && /\.ya?ml$/.test(e.name)).map((e) => join(e.parentPath, e.name));
}

function yamlOrError(text: string): unknown {
  try {
    return parse(text, { uniqueKeys: true });
  } catch {
    return 'error';
  }
}

const SAME = [
  'a: 1\nb: -2\nc: 1.5\nd: .5\ne: +3\nf: 007',
  'n: null\nt: true\nf: False\ntilde: ~\nempty:\nword: nullish',
  'k: 30d\nh: "02:00-05:00"\nplain: 02:00-05:00\ndate: 2025-01-01',
  "q: 'it''s'\nd: \"double\"\nurl: https://a.internal/x?y=1#frag",
  'list:\n  - a\n  - b # comment\n  -   c\nflow: [a, "b", \'c\', [d, e], {f: g}]',
  'compact:\n- x: 1\n  y: 2\n- x: 3\nafter: 4',
  'm: { a: 1, b: [2, 3], c: { d: e } }\nempty: {}\nnone: []',
  '- - a\n  - b\n- c',
  '-\n  id: a\n-\n  id: b',
  'hash: a#b\ncolon: a:b\nspaced:   value   # trailing comment',
  '# only a comment\n\nkey: value\n\n# another\n',
  'windows: "yes"\r\nline: endings\r\n',
  'k: -x\nj: ./rel/path\ni: $dollar',
];

const DECLINED = [
  'a: |\n  block',
  'a: >\n  folded',
  'a: &x 1\nb: *x',
  'a: !!str 1',
  'a: b\n  continued',
  'a: 1\na: 2',
  'a: "escaped \\n"',
  '"quoted key": 1',
  '---\na: 1',
  'a: 0x1F',
  'a: 1e3',
  'a: .inf',
  'a:\tb',
  'a: [1, 2',
  '? complex\n: key',
  'a: b: c',
];

describe('the fast policy parser', () => {
  it.each(SAME)('reads %j exactly as yaml does', (text) => {
    const fast = fastParse(text);
    expect(fast).toBeDefined();
    expect(fast?.value).toEqual(yamlOrError(text));
  });

  it.each(DECLINED)('declines %j, which the full parser handles', (text) => {
    expect(fastParse(text)).toBeUndefined();
  });

  it('reads every example policy and fixture as yaml does, or declines it', async () => {
    const files = [...(await yamlFiles(join(REPO, 'policies'))), ...(await yamlFiles(join(REPO, 'test/fixtures')))];
    expect(files.length).toBeGreaterThan(10);
    let read = 0;
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      const fast = fastParse(text);
      if (fast) {
        read++;
        expect(fast.value, file).toEqual(yamlOrError(text));
      }
    }
    // The fixtures with YAML errors are declined; everything else takes the fast path.
    expect(read).toBeGreaterThan(files.length - 4);
  });

  it('records where each list item that is a map starts', () => {
    const fast = fastParse('secrets:\n  - id: a\n    owner: x\n  -\n    id: b\n');
    const items = (fast?.value as { secrets: object[] }).secrets;
    expect(items.map((i) => fast?.itemPositions.get(i))).toEqual([
      { line: 2, col: 5 },
      { line: 5, col: 5 },
    ]);
  });
});
