-- Governance: a tamper-evident audit trail, a hash chain per database.

-- Each audit row carries the hash of the row before it and its own hash over that and its content:
-- changing or deleting a row breaks the link of every row after it (rotor audit verify).
alter table audit add column prev_hash text;
alter table audit add column hash text;

-- The canonical form of a row, hashed: the previous hash, then a JSON array of the row's fields in
-- a fixed order, the time as UTC microseconds text (independent of the session's TimeZone) and
-- detail as PostgreSQL prints jsonb (sorted keys). The one definition: the insert trigger below
-- and `rotor audit verify` both call it.
create function audit_row_hash(prev text, id bigint, at timestamptz, actor text, action text, secret_id text, run_id uuid,
                               reason text, detail jsonb) returns text language sql stable as $$
  select encode(sha256(convert_to(coalesce(prev, '') || jsonb_build_array(
    id, to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), actor, action, secret_id, run_id, reason, detail)::text, 'UTF8')), 'hex')
$$;

-- The head of the chain: the last row's id and hash. One row.
create table audit_chain (
  one       boolean primary key default true check (one),
  last_id   bigint,
  last_hash text
);

-- Chain the rows written before this migration, oldest first (the append-only trigger is off for
-- this transaction only; the migration runs in one).
alter table audit disable trigger audit_no_update;
do $$
declare
  r record;
  h text;
  prev text := null;
  last bigint := null;
begin
  for r in select * from audit order by id loop
    h := audit_row_hash(prev, r.id, r.at, r.actor, r.action, r.secret_id, r.run_id, r.reason, r.detail);
    update audit set prev_hash = prev, hash = h where id = r.id;
    prev := h;
    last := r.id;
  end loop;
  insert into audit_chain (last_id, last_hash) values (last, prev);
end $$;
alter table audit enable trigger audit_no_update;
alter table audit alter column hash set not null;

-- Every insert, from any statement (appendAudit, a step's completion, a policy sync), is linked
-- here, in the inserting statement. `select ... for update` on the head row serialises writers:
-- the lock is held until the inserting transaction commits, and a writer that waited reads the
-- head as the one before it left it (READ COMMITTED re-reads a locked row), so two concurrent
-- writers can never link to the same row (no fork). The id is drawn under the lock, so id order
-- is chain order. Every audit write in rotor is the last statement of its transaction, so the lock
-- is held only for the commit.
create function audit_link() returns trigger language plpgsql as $$
declare
  head text;
begin
  select last_hash into head from audit_chain for update;
  new.id := nextval(pg_get_serial_sequence('audit', 'id'));
  new.prev_hash := head;
  new.hash := audit_row_hash(head, new.id, new.at, new.actor, new.action, new.secret_id, new.run_id, new.reason, new.detail);
  update audit_chain set last_id = new.id, last_hash = new.hash;
  return new;
end $$;
create trigger audit_link before insert on audit for each row execute function audit_link();
