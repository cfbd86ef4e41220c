-- The dashboard's inventory asks, per secret, for its newest failed run: keep that a small index scan.
create index runs_needs_attention on runs (secret_id, created_at) where state = 'needs-attention';
