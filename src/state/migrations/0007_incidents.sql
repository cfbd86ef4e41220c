-- Incidents: one record per `rotor incident start` (who, why, which selection, when it started and
-- ended) and one row per secret in its blast radius, in plan order, linked to the emergency run
-- that rotated it. A secret's run_id is set in the same transaction that creates its run, so a
-- driver that restarts after a crash never starts a secret of the incident twice.
create table incidents (
  id          uuid primary key,
  actor       text not null,
  reason      text not null,
  -- The selection as asked for ({ tags, owners, classes, targets, consumers, ids }) and how many
  -- runs may be in flight on one target at once.
  selection   jsonb not null,
  per_target  integer not null check (per_target >= 1),
  state       text not null default 'running' check (state in ('running', 'aborting', 'done', 'aborted')),
  started_at  timestamptz not null default now(),
  ended_at    timestamptz
);
create index incidents_by_start on incidents (started_at desc);

create table incident_secrets (
  incident_id uuid not null references incidents (id),
  secret_id   text not null references secrets (id),
  -- Plan order: dependencies first (dependsOn), then by target.
  position    integer not null,
  target_key  text not null,
  -- The secrets of this incident that must be rotated before this one.
  depends_on  text[] not null default '{}',
  run_id      uuid references runs (id),
  -- Why it will not be started: a dependency did not rotate, or the incident was aborted.
  skipped     text,
  primary key (incident_id, secret_id)
);
create unique index incident_secrets_run on incident_secrets (run_id) where run_id is not null;
