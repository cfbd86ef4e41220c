// Differences between the two alternating users that do not come from the group: role attributes
// and per-role settings. Either would make the application behave differently after a switch.
import pg from 'pg';
import type { RoleRow, SettingRow } from './catalog.js';
import type { Problem } from './preflight.js';

const q = pg.escapeIdentifier;

const ATTRIBUTES = [
  ['rolsuper', 'SUPERUSER'],
  ['rolcreatedb', 'CREATEDB'],
  ['rolcreaterole', 'CREATEROLE'],
  ['rolreplication', 'REPLICATION'],
  ['rolbypassrls', 'BYPASSRLS'],
] as const;

export function attributeDrift(a: RoleRow, b: RoleRow): Problem[] {
  const problems: Problem[] = [];
  for (const [column, keyword] of ATTRIBUTES) {
    if (a[column] === b[column]) continue;
    const [has, lacks] = a[column] ? [a, b] : [b, a];
    problems.push({
      what: `${has.rolname} has ${keyword} and ${lacks.rolname} does not; the two users must have the same attributes`,
      fix: `ALTER ROLE ${q(has.rolname)} NO${keyword};  -- or: ALTER ROLE ${q(lacks.rolname)} ${keyword};`,
    });
  }
  if (a.rolconnlimit !== b.rolconnlimit) {
    problems.push({
      what: `${a.rolname} has CONNECTION LIMIT ${a.rolconnlimit} and ${b.rolname} has ${b.rolconnlimit}`,
      fix: `ALTER ROLE ${q(b.rolname)} CONNECTION LIMIT ${a.rolconnlimit};`,
    });
  }
  return problems;
}

/** Settings (ALTER ROLE ... SET) that one user has and the other lacks or has with another value. */
export function settingDrift(rows: readonly SettingRow[], a: string, b: string, db: string): Problem[] {
  // scope ('' = every database) + name -> user -> value
  const table = new Map<string, Map<string, string>>();
  for (const r of rows) {
    const eq = r.setting.indexOf('=');
    const key = `${r.everywhere ? '' : db}\u0000${r.setting.slice(0, eq)}`;
    const values = table.get(key) ?? new Map<string, string>();
    values.set(r.rolname, r.setting.slice(eq + 1));
    table.set(key, values);
  }
  const problems: Problem[] = [];
  for (const [key, values] of table) {
    const [database = '', name = ''] = key.split('\u0000');
    const [va, vb] = [values.get(a), values.get(b)];
    if (va === vb) continue;
    const where = database ? ` in database ${database}` : '';
    const scope = database ? ` IN DATABASE ${q(database)}` : '';
    // Make the second user like the first; when only the second has it, the first gets it.
    const [from, to, value] = va !== undefined ? [a, b, va] : [b, a, vb ?? ''];
    const what =
      va !== undefined && vb !== undefined
        ? `${a} has the setting ${name}=${va}${where} and ${b} has ${name}=${vb}`
        : `${from} has the setting ${name}=${value}${where} and ${to} does not`;
    problems.push({
      what,
      fix: `ALTER ROLE ${q(to)}${scope} SET ${name} = ${settingLiteral(name, value)};  -- or the other way round, or: ALTER ROLE ${q(from)}${scope} RESET ${name};`,
    });
  }
  return problems;
}

// Settings whose stored text is a list of double-quoted elements, each to be given as its own
// literal (what pg_dump calls GUC_LIST_QUOTE).
const LIST_QUOTED = new Set([
  'search_path',
  'temp_tablespaces',
  'local_preload_libraries',
  'session_preload_libraries',
  'shared_preload_libraries',
  'unix_socket_directories',
]);

/** The SQL that sets `name` back to the stored text `value`, as pg_db_role_setting holds it. */
export function settingLiteral(name: string, value: string): string {
  if (!LIST_QUOTED.has(name.toLowerCase())) return pg.escapeLiteral(value);
  const elements: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i] ?? '';
    if (c === '"' && quoted && value[i + 1] === '"') {
      current += '"'; // "" inside quotes is one "
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (c === ',' && !quoted) {
      elements.push(current);
      current = '';
    } else if (quoted || !/\s/.test(c)) {
      current += c;
    }
  }
  elements.push(current);
  return elements.map((e) => pg.escapeLiteral(e)).join(', ');
}
