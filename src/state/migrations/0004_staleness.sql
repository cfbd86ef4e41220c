-- Staleness of a run: when the old credential was last seen in use after promote (sampled by the
-- rotator's in-use check during grace and drain), and how many sessions that sample found.
-- How long each consumer took to confirm is confirmed_at - promoted_at, already recorded.
alter table runs add column old_last_seen_at timestamptz;
alter table runs add column old_sessions_seen integer;
