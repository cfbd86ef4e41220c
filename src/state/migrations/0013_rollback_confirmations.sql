-- A rollback waits for every consumer to confirm the old version before it revokes the new one
-- (src/engine/failure.ts): its own marks beside those of the new version, which `rotor history`
-- keeps showing. A consumer that never confirms the old version within its bound ends the run
-- `rollback-unconfirmed`: the new credential is not revoked and stays in the store (PREVIOUS).
alter table run_consumers add column rollback_notified_at timestamptz;
alter table run_consumers add column rollback_confirmed_at timestamptz;
alter table run_consumers add column rollback_error text;
alter table runs drop constraint runs_outcome_check;
alter table runs add constraint runs_outcome_check
  check (outcome in ('rotated', 'discarded', 'rolled-back', 'rollback-failed', 'rollback-unconfirmed'));
