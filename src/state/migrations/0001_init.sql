-- rotor's state: secrets synced from policies, runs, their steps, consumer confirmations, audit.

create table secrets (
  id              text primary key,
  -- The resolved policy (references only, never a value) and its hash, to tell what a sync changes.
  policy          jsonb not null,
  policy_hash     text not null,
  target_key      text not null,
  status          text not null default 'active' check (status in ('active', 'retired')),
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  retired_at      timestamptz,
  last_success_at timestamptz,
  last_run_id     uuid,
  next_due_at     timestamptz,
  overdue_since   timestamptz
);
create index secrets_due on secrets (next_due_at) where status = 'active';

create table runs (
  id              uuid primary key,
  secret_id       text not null references secrets (id),
  trigger         text not null check (trigger in ('schedule', 'manual', 'emergency')),
  actor           text not null,
  reason          text,
  force           boolean not null default false,
  state           text not null default 'queued'
                  check (state in ('queued', 'running', 'waiting', 'done', 'needs-attention')),
  -- The next step to run; 'finished' once the run has ended.
  step            text not null default 'create',
  -- Attempts of the current step, and of the whole run (bounded: no rotation loop).
  step_attempt    integer not null default 0,
  total_attempts  integer not null default 0,
  old_version     text,
  new_version     text,
  not_before      timestamptz,
  promoted_at     timestamptz,
  grace_until     timestamptz,
  wait_until      timestamptz,
  -- Which worker holds the run, until when: two jobs for one run never run steps at once.
  lease_owner     text,
  lease_until     timestamptz,
  outcome         text check (outcome in ('rotated', 'discarded', 'rolled-back', 'rollback-failed')),
  error           text,
  created_at      timestamptz not null default now(),
  started_at      timestamptz,
  updated_at      timestamptz not null default now(),
  finished_at     timestamptz
);
-- Invariant 3: at most one active run per secret, whoever starts it, however many workers.
create unique index runs_one_active_per_secret on runs (secret_id) where state in ('queued', 'running', 'waiting');
create index runs_by_secret on runs (secret_id, created_at desc);
create index runs_active on runs (updated_at) where state in ('queued', 'running', 'waiting');

create table steps (
  id          bigserial primary key,
  run_id      uuid not null references runs (id),
  step        text not null,
  attempt     integer not null,
  status      text not null check (status in ('started', 'succeeded', 'failed', 'waiting')),
  started_at  timestamptz not null default now(),
  finished_at timestamptz,
  error       text,
  detail      jsonb
);
create index steps_by_run on steps (run_id, id);

create table run_consumers (
  run_id            uuid not null references runs (id),
  consumer          text not null,
  wave              integer not null,
  notified_at       timestamptz,
  confirmed_at      timestamptz,
  confirmed_version text,
  last_error        text,
  primary key (run_id, consumer)
);

-- Invariant 6: every change of state is appended here; rows are never updated or deleted.
create table audit (
  id         bigserial primary key,
  at         timestamptz not null default now(),
  actor      text not null,
  action     text not null,
  secret_id  text,
  run_id     uuid,
  reason     text,
  detail     jsonb
);
create index audit_by_secret on audit (secret_id, id);

create function audit_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'the audit trail is append-only: % is not allowed', tg_op;
end $$;
create trigger audit_no_update before update or delete on audit for each row execute function audit_append_only();
create trigger audit_no_truncate before truncate on audit for each statement execute function audit_append_only();
