// `rotor validate` on http rotator templates: the example policies pass, and each malformed
// template (one change to an example) is one problem at the file:line:col of the string at fault.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../../src/cli/exit-codes.js';
import { runValidate } from '../../../src/cli/validate.js';
import { loadPolicies } from '../../../src/policy/load.js';
import { textSink } from '../../helpers/sink.js';

const EXAMPLES = fileURLToPath(new URL('../../../policies/examples/', import.meta.url));
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The example with `from` replaced by `to` (once), and where `at` (a text in the result) starts. */
function mutate(example: string, from: string, to: string, at: string = to) {
  const original = readFileSync(join(EXAMPLES, example), 'utf8');
  expect(original.split(from)).toHaveLength(2);
  const text = original.replace(from, to);
  const index = text.indexOf(at);
  const before = text.slice(0, index).split('\n');
  const dir = mkdtempSync(join(tmpdir(), 'rotor-http-validate-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'policy.yaml'), text);
  return { dir, where: `policy.yaml:${before.length}:${before.at(-1)!.length + 1}` };
}

const LIST = 'http-list-in-use.yaml';
const ROLLING = 'http-rolling-keys.yaml';

const CASES: Array<{ name: string; example: string; from: string; to: string; at?: string; message: RegExp }> = [
  {
    name: 'an unknown placeholder',
    example: LIST,
    from: "'Bearer {{ next.apiKey }}'",
    to: "'Bearer {{ nxt.apiKey }}'",
    message: /verify\.headers\.Authorization` has \{\{ nxt\.apiKey \}\}, which is not a placeholder/,
  },
  {
    name: 'a field create does not extract',
    example: LIST,
    from: "'Bearer {{ next.apiKey }}'",
    to: "'Bearer {{ next.token }}'",
    message: /uses \{\{ next\.token \}\}, but target\.requests\.create\.extract sets no field `token`/,
  },
  {
    name: 'http:// to a host that is not loopback',
    example: LIST,
    from: 'url: https://api.streamprov.example/v1/keys\n          headers: { Authorization: \'Bearer {{ ref "env:STREAMPROV_ADMIN_TOKEN" }}\' }\n          extract',
    to: 'url: http://api.streamprov.example/v1/keys\n          headers: { Authorization: \'Bearer {{ ref "env:STREAMPROV_ADMIN_TOKEN" }}\' }\n          extract',
    at: 'http://api.streamprov',
    message: /list\.url` is http:\/\/ to api\.streamprov\.example, which is not loopback/,
  },
  {
    name: 'a JSONPath that does not parse',
    example: LIST,
    from: "'$.data[*].id'",
    to: "'$.data[*.id'",
    message: /list\.extract\.id` \(\$\.data\[\*\.id\) has a `\[` that does not close/,
  },
  {
    name: 'a method HTTP does not have',
    example: LIST,
    from: 'method: GET\n          url: https://api.streamprov.example/v1/me',
    to: 'method: FETCH\n          url: https://api.streamprov.example/v1/me',
    at: 'FETCH',
    message: /verify\.method` must be one of GET, POST, PUT, PATCH, DELETE/,
  },
  {
    name: 'a status that is not an HTTP status',
    example: LIST,
    from: 'expect: [201]',
    to: 'expect: [201, 2000]',
    at: '2000',
    message: /create\.expect\[1\]` must be at most 599/,
  },
  {
    name: 'the new key named in create, before it exists',
    example: LIST,
    from: "name: 'rotor {{ secretId }} {{ runId }}'",
    to: "name: 'rotor {{ next.id }}'",
    at: "'rotor {{ next.id }}'",
    message: /uses \{\{ next\.id \}\}, which create does not have: the new key exists only once create answers/,
  },
  {
    name: "one of rotor's own settings sent to the API",
    example: LIST,
    from: '\'Bearer {{ ref "env:STREAMPROV_ADMIN_TOKEN" }}\' }\n          expect: [204, 404]',
    to: '\'Bearer {{ ref "env:ROTOR_MASTER_KEY" }}\' }\n          expect: [204, 404]',
    at: '\'Bearer {{ ref "env:ROTOR_MASTER_KEY',
    message: /one of rotor's own settings \(ROTOR_\*\)/,
  },
  {
    name: 'a secret field in a URL',
    example: LIST,
    from: "'https://api.streamprov.example/v1/keys/{{ current.id }}/sessions'",
    to: "'https://api.streamprov.example/v1/keys/{{ current.apiKey }}/sessions'",
    message: /puts the secret field \{\{ current\.apiKey \}\} in the URL/,
  },
  {
    name: 'create authenticating with a current key the first rotation does not have',
    example: ROLLING,
    from: '      initial: { id: env:PAYPROV_KEY_ID, secret: env:PAYPROV_SECRET_KEY }\n',
    to: '',
    at: "'Bearer {{ current.secret }}'",
    message: /uses \{\{ current\.secret \}\}, which the first rotation does not have: add `initial/,
  },
];

describe('rotor validate on http rotator templates', () => {
  it('accepts the three example policies', async () => {
    const loaded = await loadPolicies(EXAMPLES, { cwd: EXAMPLES });
    expect(loaded.problems).toEqual([]);
    expect(loaded.secrets.map((s) => s.rotator.name)).toEqual(['http', 'http', 'http']);
  });

  it.each(CASES)('reports $name at its file:line:col', async ({ example, from, to, at, message }) => {
    const { dir, where } = mutate(example, from, to, at);
    const loaded = await loadPolicies(dir, { cwd: dir });
    expect(loaded.problems.map((p) => ({ at: `${p.file}:${p.line}:${p.col}`, message: p.message }))).toEqual([
      { at: where, message: expect.stringMatching(message) },
    ]);
    expect(loaded.secrets).toEqual([]);
  });

  it('exits 2 and prints file:line:col', async () => {
    const { dir, where } = mutate(LIST, "'$.data[*].id'", "'$.data[*].id['");
    const s = textSink();
    expect(await runValidate({ dir, out: s.out })).toBe(EXIT.USAGE);
    expect(s.text()).toContain(`${where}: [platform/streaming-api-key] \`target.requests.list.extract.id\``);
  });
});
