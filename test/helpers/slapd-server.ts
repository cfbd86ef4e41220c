// Private OpenLDAP servers for tests: Debian's slapd from a throwaway slapd.conf in a temp dir (mdb
// backend, ppolicy overlay), a plain listener and an LDAPS one (a self-signed certificate made with
// openssl; StartTLS works on the plain one) on free loopback ports, and never outliving the process
// that started it (the watchdog finds its pid file). One per test file: start it in beforeAll, stop
// it in afterAll. The rotor admin gets exactly the ACLs docs/ldap.md asks for; tests set up accounts
// as the rootdn.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, Socket } from 'node:net';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { freePort } from './ports.js';
import { PID_FILES, scratchRoot } from './watchdog.js';

export const BASE_DN = 'dc=rotor,dc=test';
export const SERVICES_DN = `ou=services,${BASE_DN}`;
export const GROUPS_DN = `ou=groups,${BASE_DN}`;
export const ADMIN_DN = `cn=rotor,ou=system,${BASE_DN}`;
/** A password policy no generated password passes (pwdMinLength 300, quality checked). */
export const STRICT_POLICY_DN = `cn=strict,ou=policies,${BASE_DN}`;

export interface SlapdHandle {
  /** The plain listener (StartTLS available). */
  port: number;
  /** The LDAPS listener. */
  tlsPort: number;
  /** `ldap://127.0.0.1:<port>` */
  url: string;
  /** `ldaps://localhost:<tlsPort>` (the certificate names localhost and 127.0.0.1) */
  ldapsUrl: string;
  /** The self-signed certificate, PEM: the CA a client must trust. */
  ca: string;
  /** The rotor admin: write on userPassword under ou=services, read on the entries and groups. */
  admin: { dn: string; password: string };
  /** `uid=<uid>,ou=services,dc=rotor,dc=test` */
  dn(uid: string): string;
  /** Adds a service account with `password` (hashed by the server); `policy` sets its pwdPolicySubentry. */
  addAccount(uid: string, password: string, opts?: { policy?: string }): Promise<string>;
  /** Adds a groupOfNames with these member DNs. */
  addGroup(cn: string, members: string[]): Promise<string>;
  /** True when `dn` binds with `password` on a fresh connection; otherwise the LDAP result code (49) or the error's message. */
  bind(dn: string, password: string): Promise<true | number | string>;
  /** The slapd log (stderr, `-d` stats): every bind and modify, for leak scans. */
  log(): string;
  /** SIGKILL, as a crash would; the database stays for restart(). */
  kill(): Promise<void>;
  /** Stops slapd if it runs (SIGTERM) and starts it again on the same ports and database. */
  restart(): Promise<void>;
  /** SIGTERM, then removes the dir. Idempotent. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 15_000;
export const SLAPD = ['/usr/sbin/slapd', '/usr/bin/slapd'].find((p) => existsSync(p)) ?? 'slapd';
const SLAPADD = ['/usr/sbin/slapadd', '/usr/bin/slapadd'].find((p) => existsSync(p)) ?? 'slapadd';

/** `{SSHA}` of `password`: how the LDIF loaded at start holds the admin's and the rootdn's passwords. */
export function ssha(password: string): string {
  const salt = randomBytes(8);
  return `{SSHA}${Buffer.concat([createHash('sha1').update(password).update(salt).digest(), salt]).toString('base64')}`;
}

export async function startSlapd(): Promise<SlapdHandle> {
  if (!existsSync(SLAPD)) throw new Error('slapd is not installed; install it (`apt-get install slapd ldap-utils`) or run `bash .ci/run`');
  const dir = mkdtempSync(join(scratchRoot(), 'slapd-'));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { mode: 0o700 });
  const rootDn = `cn=root,${BASE_DN}`;
  const rootPassword = randomBytes(18).toString('base64url');
  const admin = { dn: ADMIN_DN, password: randomBytes(18).toString('base64url') };
  const files = { conf: join(dir, 'slapd.conf'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), log: join(dir, 'slapd.log') };
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-keyout', files.key, '-out', files.cert, '-days', '2', '-subj', '/CN=localhost'],
      ...['-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    ],
    { stdio: 'ignore' },
  );
  const [port, tlsPort] = [await freePort(), await freePort()];
  writeFileSync(files.conf, slapdConf(dir, files, rootDn, ssha(rootPassword)));
  writeFileSync(join(dir, 'base.ldif'), baseLdif(ssha(admin.password)));
  execFileSync(SLAPADD, ['-q', '-f', files.conf, '-l', join(dir, 'base.ldif')], { stdio: ['ignore', 'ignore', 'pipe'] });

  const urls = `ldap://${HOST}:${port}/ ldaps://${HOST}:${tlsPort}/`;
  let child: ChildProcess | undefined = await launch(files, urls, [port, tlsPort]);
  let stopped: Promise<void> | undefined;
  const end = async (signal: NodeJS.Signals) => {
    if (child) await terminate(child, signal);
    child = undefined;
    rmSync(join(dir, PID_FILES.slapd), { force: true });
  };
  const url = `ldap://${HOST}:${port}`;
  const ca = readFileSync(files.cert, 'utf8');
  const asRoot = async <T>(fn: (c: Client) => Promise<T>): Promise<T> => {
    const c = new Client({ url, connectTimeout: 5_000, timeout: 10_000 });
    try {
      await c.bind(rootDn, rootPassword);
      return await fn(c);
    } finally {
      await c.unbind().catch(() => undefined);
    }
  };
  const dn = (uid: string) => `uid=${uid},${SERVICES_DN}`;
  return {
    port,
    tlsPort,
    url,
    ldapsUrl: `ldaps://localhost:${tlsPort}`,
    ca,
    admin,
    dn,
    async addAccount(uid, password, opts = {}) {
      const entry = dn(uid);
      await asRoot(async (c) => {
        await c.add(entry, {
          objectClass: ['account', 'simpleSecurityObject'],
          uid,
          userPassword: ssha(password),
          ...(opts.policy ? { pwdPolicySubentry: opts.policy } : {}),
        });
      });
      return entry;
    },
    async addGroup(cn, members) {
      const entry = `cn=${cn},${GROUPS_DN}`;
      await asRoot((c) => c.add(entry, { objectClass: 'groupOfNames', cn, member: members }));
      return entry;
    },
    async bind(who, password) {
      const c = new Client({ url, connectTimeout: 5_000, timeout: 10_000 });
      try {
        await c.bind(who, password);
        return true;
      } catch (err) {
        return (err as { code?: unknown }).code === 49 ? 49 : ((err as Error).message ?? String(err));
      } finally {
        await c.unbind().catch(() => undefined);
      }
    },
    log: () => (existsSync(files.log) ? readFileSync(files.log, 'utf8') : ''),
    kill: () => end('SIGKILL'),
    async restart() {
      if (stopped) throw new Error(`slapd on port ${port} was stopped; start a new one instead`);
      await end('SIGTERM');
      child = await launch(files, urls, [port, tlsPort]);
    },
    stop() {
      stopped ??= end('SIGTERM').finally(() => rmSync(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}

function slapdConf(dir: string, files: { cert: string; key: string }, rootDn: string, rootHash: string): string {
  const admin = `dn.exact="${ADMIN_DN}"`;
  return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
pidfile ${join(dir, PID_FILES.slapd)}
argsfile ${join(dir, 'slapd.args')}
TLSCertificateFile ${files.cert}
TLSCertificateKeyFile ${files.key}
password-hash {SSHA}

database mdb
suffix "${BASE_DN}"
rootdn "${rootDn}"
rootpw ${rootHash}
directory ${join(dir, 'data')}
maxsize 67108864
overlay ppolicy
ppolicy_default "cn=default,ou=policies,${BASE_DN}"

# The ACLs docs/ldap.md gives the rotor admin: write on the service accounts' passwords, read on
# the accounts and the groups; binds by anyone.
access to dn.subtree="${SERVICES_DN}" attrs=userPassword
  by ${admin} write
  by anonymous auth
  by * none
access to attrs=userPassword
  by anonymous auth
  by * none
access to dn.subtree="${SERVICES_DN}"
  by ${admin} read
  by * break
access to dn.subtree="${GROUPS_DN}"
  by ${admin} read
  by * break
access to *
  by self read
  by * none
`;
}

function baseLdif(adminHash: string): string {
  const entries = [
    `dn: ${BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\no: rotor\ndc: rotor`,
    ...['system', 'services', 'groups', 'policies'].map((ou) => `dn: ou=${ou},${BASE_DN}\nobjectClass: organizationalUnit\nou: ${ou}`),
    `dn: cn=default,ou=policies,${BASE_DN}\nobjectClass: organizationalRole\nobjectClass: pwdPolicy\ncn: default\npwdAttribute: userPassword`,
    `dn: ${STRICT_POLICY_DN}\nobjectClass: organizationalRole\nobjectClass: pwdPolicy\ncn: strict\npwdAttribute: userPassword\npwdMinLength: 300\npwdCheckQuality: 2`,
    `dn: ${ADMIN_DN}\nobjectClass: person\ncn: rotor\nsn: rotor\nuserPassword: ${adminHash}`,
  ];
  return `${entries.join('\n\n')}\n`;
}

async function launch(files: { conf: string; log: string }, urls: string, ports: number[]): Promise<ChildProcess> {
  // -d stats: stays in the foreground and logs connections and operations (never attribute values).
  const child = spawn(SLAPD, ['-f', files.conf, '-h', urls, '-d', 'stats'], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.unref();
  let output = '';
  if (child.stderr instanceof Socket) child.stderr.unref();
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
    writeFileSync(files.log, chunk, { flag: 'a' });
  });
  let failure: Error | undefined;
  child.once('error', (err) => (failure = err));
  child.once('exit', (code, signal) => (failure ??= new Error(`slapd exited (${signal ?? code}) before it was ready:\n${output}`)));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (const port of ports) {
    while (!(await accepts(port))) {
      if (failure) throw failure;
      if (Date.now() > deadline) {
        await terminate(child, 'SIGKILL');
        throw new Error(`slapd did not listen on ${port} within ${READY_TIMEOUT_MS} ms:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return child;
}

/** slapd opens its listeners once the database is open: a connection accepted means ready. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: HOST, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => done(true));
  });
}

async function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.ref();
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
