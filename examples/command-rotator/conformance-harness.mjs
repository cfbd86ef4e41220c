// The conformance harness of the example: starts the API key service on a free port and points the
// command rotator at it, so one command checks the example end to end:
//   npx rotor conformance command --harness examples/command-rotator/conformance-harness.mjs
/* global process, URL, AbortController, fetch */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startApiKeyService } from './api-service.mjs';

export default async function harness() {
  const adminToken = `adm_${randomBytes(24).toString('base64url')}`;
  const service = await startApiKeyService({ adminToken });
  return {
    params: {
      target: {
        executable: process.execPath,
        args: [fileURLToPath(new URL('./rotator.mjs', import.meta.url))],
        env: { API_URL: service.url, API_ADMIN_TOKEN: 'env:EXAMPLE_API_ADMIN_TOKEN' },
        timeout: '10s',
        inUse: true,
        revokeInherited: true,
        config: { inheritedKeys: ['legacy (made by hand)'] },
      },
      // The service keeps an old key valid until it is deleted.
      overlap: true,
    },
    resolveRef: async (ref) => {
      if (ref === 'env:EXAMPLE_API_ADMIN_TOKEN') return adminToken;
      throw new Error(`unexpected reference ${ref}`);
    },
    // The key the consumers used before rotor, made by hand in the service.
    async inherited() {
      const res = await fetch(`${service.url}/admin/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'legacy (made by hand)' }),
      });
      const made = await res.json();
      return { id: made.id, apiKey: made.key };
    },
    async openSession(value) {
      const stop = new AbortController();
      const res = await fetch(`${service.url}/v1/stream`, { headers: { authorization: `Bearer ${value.apiKey}` }, signal: stop.signal });
      if (res.status !== 200) throw new Error(`opening a session failed with HTTP ${res.status}`);
      return {
        close: async () => {
          stop.abort();
          await res.body?.cancel().catch(() => undefined);
        },
      };
    },
    service,
    close: () => service.close(),
  };
}
