-- The manual secrets the alert watcher last saw due (due soon or overdue), so their owner is told
-- once when one falls due, as with `overdue`.
alter table alert_state add column due text[] not null default '{}';
