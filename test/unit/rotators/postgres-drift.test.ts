// The SQL the preflight suggests for settings that differ between the two alternating users.
import { describe, expect, it } from 'vitest';
import { settingDrift, settingLiteral } from '../../../rotators/postgres/drift.js';

describe('setting literals', () => {
  it('quote a plain setting as one literal', () => {
    expect(settingLiteral('statement_timeout', '5s')).toBe("'5s'");
    expect(settingLiteral('application_name', "it's")).toBe("'it''s'");
  });

  it('quote each element of a list setting, as pg_dump does', () => {
    expect(settingLiteral('search_path', 'app, public')).toBe("'app', 'public'");
    expect(settingLiteral('search_path', '"My Schema", "a""b", "$user"')).toBe(`'My Schema', 'a"b', '$user'`);
    expect(settingLiteral('search_path', '"app, public"')).toBe("'app, public'");
  });
});

describe('setting drift', () => {
  const row = (rolname: string, setting: string, everywhere = true) => ({ rolname, setting, everywhere });

  it('reports one problem per setting, with one direction to fix it', () => {
    const problems = settingDrift(
      [row('a', 'statement_timeout=5s'), row('b', 'statement_timeout=10s'), row('b', 'work_mem=64MB', false)],
      'a',
      'b',
      'app',
    );
    expect(problems.map((p) => p.what)).toEqual([
      'a has the setting statement_timeout=5s and b has statement_timeout=10s',
      'b has the setting work_mem=64MB in database app and a does not',
    ]);
    expect(problems[0]?.fix).toMatch(/^ALTER ROLE "b" SET statement_timeout = '5s';/);
    expect(problems[1]?.fix).toMatch(/^ALTER ROLE "a" IN DATABASE "app" SET work_mem = '64MB';/);
  });

  it('is quiet when both users have the same settings', () => {
    expect(settingDrift([row('a', 'x=1'), row('b', 'x=1')], 'a', 'b', 'app')).toEqual([]);
  });
});
