// The Secrets Manager fake behind a real HTTP endpoint on 127.0.0.1, speaking the service's JSON
// protocol (X-Amz-Target: secretsmanager.<Action>, awsJson1_1). Clients pointed at it through
// AWS_ENDPOINT_URL_SECRETS_MANAGER run the SDK's whole middleware stack: endpoint resolution,
// signing, retries and its logger, which the mock in install.ts skips.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FakeSecretsManager } from './secrets-manager.js';

export interface FakeEndpoint {
  url: string;
  /** Actions received, in order. */
  actions: string[];
  close(): Promise<void>;
}

export async function startSecretsManagerEndpoint(fake: FakeSecretsManager): Promise<FakeEndpoint> {
  const actions: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const action = String(req.headers['x-amz-target'] ?? '').replace(/^secretsmanager\./, '');
      actions.push(action);
      const input = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `req-${actions.length}` });
        // Timestamps travel as epoch seconds in this protocol.
        res.end(
          JSON.stringify(body, (_k, v: unknown) => (typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) ? Date.parse(v) / 1000 : v)),
        );
      };
      fake.handle(action, input).then(
        (out) => reply(200, out),
        (err: Error) => reply(400, { __type: err.name, message: err.message }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    actions,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
