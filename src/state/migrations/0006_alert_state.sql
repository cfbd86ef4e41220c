-- Where the dashboard's alert watcher got to: the last audit row it handled and the secrets it
-- already reported overdue. Kept in the database so a restart, or another dashboard taking over,
-- resumes there and alerts about what happened while none was watching, once.
create table alert_state (
  name text primary key,
  audit_cursor bigint not null,
  overdue text[] not null default '{}',
  updated_at timestamptz not null default now()
);
