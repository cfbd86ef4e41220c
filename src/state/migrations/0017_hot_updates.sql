-- A run's row is updated at every step (its step, attempts, lease, versions), a step's row once
-- when it ends, a consumer's row when notified and when confirmed. PostgreSQL can make such an
-- update a heap-only tuple (HOT: no new entry in any index, the old version pruned within its page)
-- only when no indexed column changes and the page has room for the new version.
--
-- runs_active indexed updated_at, which every update sets: no run update could be HOT, and each
-- wrote an entry into every index of runs. It now indexes created_at, which never changes (the
-- active runs are few; the oldest is what its readers order by). `state` and `trigger` are in
-- partial indexes' predicates, so an update that changes them is still not HOT: a handful per run.
drop index runs_active;
create index runs_active on runs (created_at) where state in ('queued', 'running', 'waiting');

-- Room in each page for the next version of its rows (new pages only; existing ones fill as before).
alter table runs set (fillfactor = 70);
alter table steps set (fillfactor = 70);
alter table run_consumers set (fillfactor = 70);
