-- The local secret store: versions of each location's value, sealed with AES-256-GCM, with stages.

-- One row per location. Every stage change locks it (select ... for update) first, so concurrent
-- promote / putPending / discard calls for one secret, from any number of workers, run one at a time.
create table store_locations (
  location   text primary key check (location <> ''),
  created_at timestamptz not null default now()
);

create table store_versions (
  location   text not null references store_locations (location),
  version_id text not null check (version_id <> ''),
  -- Never plaintext: AES-256-GCM of the value's JSON, with additional data binding it to
  -- (location, version_id), so a row copied onto another version fails to decrypt.
  ciphertext bytea not null,
  nonce      bytea not null check (octet_length(nonce) = 12),
  auth_tag   bytea not null check (octet_length(auth_tag) = 16),
  -- First 8 hex characters of sha256(master key): a wrong key is reported by id, not as a GCM failure.
  key_id     text not null check (key_id ~ '^[0-9a-f]{8}$'),
  stages     text[] not null default '{}'
             check (stages <@ array['CURRENT', 'PENDING', 'PREVIOUS']::text[] and cardinality(stages) <= 3),
  created_at timestamptz not null default now(),
  primary key (location, version_id)
);

-- At most one version per stage per location, whatever the code does: the backstop to the lock above.
create unique index store_versions_one_current on store_versions (location) where stages @> array['CURRENT']::text[];
create unique index store_versions_one_pending on store_versions (location) where stages @> array['PENDING']::text[];
create unique index store_versions_one_previous on store_versions (location) where stages @> array['PREVIOUS']::text[];
