// A cheap signature of the state database that moves whenever a page could show something new:
// what the dashboard's live updates poll.
import type { Queryable } from './db.js';
import { ACTIVE_IN } from './run-states.js';

/**
 * Moves on an audit row (every step that succeeded, every run requested or ended), a step started,
 * or an active run touched (a retry wait, a lease). Each part is served by an index: audit and
 * steps by their primary keys, runs by runs_active.
 */
export async function changeSignature(db: Queryable): Promise<string> {
  const r = await db.query<{ v: string }>(
    `select concat_ws(':', (select max(id) from audit), (select max(id) from steps),
       (select max(updated_at) from runs where state in ${ACTIVE_IN}),
       (select count(*) from runs where state in ${ACTIVE_IN})) as v`,
  );
  return r.rows[0]?.v ?? '';
}
