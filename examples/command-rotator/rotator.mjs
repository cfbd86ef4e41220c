#!/usr/bin/env node
// A command rotator for the example API key service (api-service.mjs): rotor runs it once per
// operation with a JSON request on stdin (docs/command-rotator.md) and reads one JSON answer on
// stdout. It needs API_URL and API_ADMIN_TOKEN in its environment (the policy's target.env).
//
// Keys are issued by the service, so `generate` creates the key (named after rotor's run, so an
// orphan left by a crash can be found) and `apply` only checks it is live.
/* global process, console, fetch, AbortSignal */

const API = process.env.API_URL;
const ADMIN = process.env.API_ADMIN_TOKEN;

/** Prints the answer and exits; errors go to stderr for humans, and as {error} for rotor. */
function answer(body, code = 0) {
  process.stdout.write(JSON.stringify(body) + '\n');
  process.exit(code);
}

class Permanent extends Error {}

async function api(method, path, { token = ADMIN, body } = {}) {
  const res = await fetch(`${API}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  if (token === ADMIN && res.status === 401) throw new Permanent('the service refused the admin token (HTTP 401)');
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** True when the key authenticates. */
async function works(value) {
  const r = await api('GET', '/v1/whoami', { token: String(value.apiKey) });
  return r.status === 200 && r.json?.id === value.id;
}

const ops = {
  async generate(req) {
    const r = await api('POST', '/admin/keys', { body: { name: `rotor:${req.secretId}:${req.runId}` } });
    if (r.status !== 201) throw new Error(`creating a key failed with HTTP ${r.status}`);
    return { value: { id: r.json.id, apiKey: r.json.key } };
  },
  async apply(req) {
    // Issued keys are live at once: there is nothing to set, only to check.
    if (!(await works(req.new))) throw new Error(`key ${req.new.id} does not authenticate; was it deleted?`);
    return { ok: true };
  },
  async verify(req) {
    return (await works(req.value)) ? { ok: true } : { ok: false, reason: `key ${req.value.id} is refused (HTTP 401)` };
  },
  async revoke(req) {
    // Never leave the service without a working key. keep is null when rotor takes back a failed
    // first rotation's key: nothing of rotor's stays, and the keys from before rotor are untouched.
    if (req.keep && !(await works(req.keep)))
      throw new Permanent(`refusing to delete key ${req.old.id}: the key to keep, ${req.keep.id}, does not authenticate`);
    const r = await api('DELETE', `/admin/keys/${encodeURIComponent(req.old.id)}`);
    if (r.status !== 204 && r.status !== 404) throw new Error(`deleting key ${req.old.id} failed with HTTP ${r.status}`);
    return { ok: true };
  },
  // The keys this secret's consumers used before rotor are named in config.inheritedKeys (their
  // names in the service): the first rotation deletes them once rotor's own key is in place.
  async 'revoke-inherited'(req) {
    if (!(await works(req.keep)))
      throw new Permanent(`refusing to delete the keys from before rotor: the key to keep, ${req.keep.id}, does not authenticate`);
    const names = new Set(req.config.inheritedKeys ?? []);
    const r = await api('GET', '/admin/keys');
    if (r.status !== 200) throw new Error(`listing keys failed with HTTP ${r.status}`);
    let revoked = 0;
    for (const k of r.json) {
      if (k.id === req.keep.id || !names.has(k.name)) continue;
      const d = await api('DELETE', `/admin/keys/${encodeURIComponent(k.id)}`);
      if (d.status !== 204 && d.status !== 404) throw new Error(`deleting key ${k.id} failed with HTTP ${d.status}`);
      revoked += 1;
    }
    return { ok: true, revoked };
  },
  async 'in-use'(req) {
    const r = await api('GET', `/admin/keys/${encodeURIComponent(req.value.id)}/sessions`);
    if (r.status === 404) return { sessions: 0 };
    if (r.status !== 200) throw new Error(`counting sessions failed with HTTP ${r.status}`);
    return { sessions: r.json.sessions };
  },
};

let input = '';
for await (const chunk of process.stdin) input += chunk;
try {
  if (!API || !ADMIN) throw new Permanent('API_URL and API_ADMIN_TOKEN must be set (target.env in the policy)');
  const req = JSON.parse(input);
  if (req.protocol !== 1) throw new Permanent(`speaks protocol 1, got ${req.protocol}`);
  const op = ops[req.op];
  if (!op) throw new Permanent(`unknown operation ${req.op}`);
  answer(await op(req));
} catch (err) {
  console.error(`example rotator: ${err.stack ?? err}`);
  answer({ error: err.message, permanent: err instanceof Permanent }, 1);
}
