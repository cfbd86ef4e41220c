-- Wakes incident drivers: a run that stops holding a worker (it waits, or it ended) notifies
-- `rotor_run_settled` when its transaction commits, so the driver starts the next secret on that
-- target at once instead of at its next poll. The payload is the run id (never a value).
-- Notifications are a hint: drivers still poll, slowly, in case one is missed (a reconnect).
create function run_settled_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('rotor_run_settled', new.id::text);
  return null;
end $$;
create trigger run_settled_notify after update of state on runs for each row
  when (new.state in ('waiting', 'done', 'needs-attention') and old.state is distinct from new.state)
  execute function run_settled_notify();
