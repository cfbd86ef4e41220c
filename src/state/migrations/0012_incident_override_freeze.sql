-- `rotor incident start --override-freeze`: the incident's runs start inside freeze windows, each
-- audited as run.freeze-overridden. Stored on the incident so a driver that takes over applies it.
alter table incidents add column override_freeze boolean not null default false;
