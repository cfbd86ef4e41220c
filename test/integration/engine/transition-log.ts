// Records every change of a run's state the database sees (a trigger on runs), so a test can check
// that the engine performed only transitions its table allows.
import type pg from 'pg';
import type { RunState } from '../../../src/state/runs.js';

export async function recordTransitions(pool: pg.Pool): Promise<void> {
  await pool.query(`
    create table test_run_transitions (from_state text, to_state text not null);
    create function test_log_run_transition() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        insert into test_run_transitions values (null, new.state);
      elsif new.state is distinct from old.state then
        insert into test_run_transitions values (old.state, new.state);
      end if;
      return new;
    end $$;
    create trigger test_log_run_transition after insert or update of state on runs
      for each row execute function test_log_run_transition();`);
}

/** The distinct transitions recorded; `from` is null for a run's creation. */
export async function recordedTransitions(pool: pg.Pool): Promise<Array<{ from: RunState | null; to: RunState }>> {
  const r = await pool.query<{ from: RunState | null; to: RunState }>(
    'select distinct from_state as "from", to_state as "to" from test_run_transitions order by 1 nulls first, 2',
  );
  return r.rows;
}
