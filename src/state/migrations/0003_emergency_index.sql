-- Routine runs ask before every step whether an emergency needs capacity: keep that answer cheap.
create index runs_active_emergency on runs (id) where trigger = 'emergency' and state in ('queued', 'running', 'waiting');
