// A consumer told a rotation's new version that never takes it (a batch job nobody restarted): it
// goes on using the version it had, and says so when asked, so the rollback to that version is
// confirmed at once and the new credential is revoked. Versions a run makes are `<run id>-<n>`.
import type { Consumer } from '../../src/consumers/contract.js';

export const stubbornConsumer: Consumer<unknown> = {
  type: 'stubborn',
  carriesValue: false,
  notify: async () => undefined,
  confirm: async (_ctx, notice) => (notice.versionId.startsWith(notice.runId) ? null : notice.versionId),
};
