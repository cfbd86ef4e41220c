-- Runs started by `rotor attest <id> --value-stdin`: a person rotated a manual secret where it is
-- issued and handed rotor the new value, which the run takes to the consumers (src/engine/attest.ts).
alter table runs drop constraint runs_trigger_check;
alter table runs add constraint runs_trigger_check check (trigger in ('schedule', 'manual', 'emergency', 'attest'));
