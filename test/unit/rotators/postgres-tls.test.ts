// The postgres rotator's transport: verified TLS unless the host is loopback or the policy chose
// otherwise, and what `prefer` costs when someone in the path strips TLS (a fake server that
// answers "no TLS here" and asks for the password in clear).
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import type { RotatorContext } from '../../../src/rotator/contract.js';
import descriptor from '../../../rotators/postgres/descriptor.js';
import { connect } from '../../../rotators/postgres/connection.js';
import { postgresParamsSchema, type PostgresParams } from '../../../rotators/postgres/schema.js';
import { resolveTarget } from '../../../rotators/postgres/target.js';

const single = (target: Record<string, unknown>) =>
  postgresParamsSchema.parse({ strategy: 'single-user', target: { database: 'app', admin: 'env:ADMIN_URL', user: 'app', ...target } });

function ctx(p: PostgresParams, url: string): RotatorContext<PostgresParams> {
  return { secretId: 's', runId: 'r', params: p, log: silentLogger, signal: new AbortController().signal, resolveRef: async () => url };
}

describe('postgres TLS defaults', () => {
  it('verifies TLS (certificate and host name) for a host reached over a network when the policy says nothing', async () => {
    const t = await resolveTarget(ctx(single({}), 'postgres://admin:pw-admin-123@db.internal:5432/postgres'));
    expect(t.admin.sslmode).toBe('verify-full');
    expect(t.sslmode).toBe('verify-full');
    const viaPolicyHost = await resolveTarget(
      ctx(single({ host: 'db.example.com' }), 'postgres://admin:pw-admin-123@127.0.0.1:5432/postgres'),
    );
    expect(viaPolicyHost.sslmode).toBe('verify-full');
    expect(viaPolicyHost.admin.sslmode).toBe('prefer'); // the admin connection itself is loopback
  });

  it("keeps prefer on loopback, and an explicit choice or the admin URL's sslmode as given", async () => {
    for (const host of ['localhost', '127.0.0.1', '[::1]']) {
      expect((await resolveTarget(ctx(single({}), `postgres://admin:pw-admin-123@${host}:5432/postgres`))).sslmode).toBe('prefer');
    }
    expect((await resolveTarget(ctx(single({ sslmode: 'require' }), 'postgres://a:pw-admin-123@db.internal/postgres'))).sslmode).toBe(
      'require',
    );
    expect((await resolveTarget(ctx(single({}), 'postgres://a:pw-admin-123@db.internal/postgres?sslmode=disable'))).admin.sslmode).toBe(
      'disable',
    );
  });

  it('reports prefer, require and disable as weak-tls choices for plan; unset and verify-full are not', () => {
    for (const mode of ['prefer', 'require', 'disable'] as const) {
      expect(descriptor.traits(single({ sslmode: mode }), 's').weakTransport).toBe(`sslmode=${mode}`);
    }
    expect(descriptor.traits(single({}), 's').weakTransport).toBeUndefined();
    expect(descriptor.traits(single({ sslmode: 'verify-full' }), 's').weakTransport).toBeUndefined();
  });
});

/** A server in the path that strips TLS: answers the SSLRequest with N, then asks for a cleartext password. */
async function strippingServer(): Promise<{ server: Server; port: number; received: () => string }> {
  let seen = Buffer.alloc(0);
  const server = createServer((sock: Socket) => {
    sock.on('data', (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      if (chunk.length === 8 && chunk.readInt32BE(4) === 80877103) sock.write('N');
      else if (chunk.readInt32BE(4) === 196608)
        sock.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])); // AuthenticationCleartextPassword
      else sock.destroy();
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, port: (server.address() as { port: number }).port, received: () => seen.toString('latin1') };
}

describe('a TLS-stripping server', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('gets the password with prefer, and nothing but the TLS request with verify-full', async () => {
    const fake = await strippingServer();
    server = fake.server;
    const ep = { host: '127.0.0.1', port: fake.port, database: 'd', user: 'admin', password: 'pw-stolen-in-clear-42' };
    await connect({ ...ep, sslmode: 'prefer' }).then(
      (c) => c.end(),
      () => undefined,
    );
    expect(fake.received()).toContain('pw-stolen-in-clear-42');

    const fresh = await strippingServer();
    server.close();
    server = fresh.server;
    await expect(connect({ ...ep, port: fresh.port, sslmode: 'verify-full' })).rejects.toThrow(/does not support SSL/);
    expect(fresh.received()).not.toContain('pw-stolen-in-clear-42');
    expect(fresh.received()).not.toContain('admin');
  });
});
