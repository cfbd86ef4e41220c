// Kubernetes for the `kubernetes` store and consumer, in one place both may import: names as
// policies write them (free of the client library, so validation stays light), the store's
// location string, which cluster (the default chain: KUBECONFIG, ~/.kube/config, the pod's service
// account; a policy may pick one of its contexts), and API errors made actionable (a 403 names the
// verb, resource and namespace to grant) and safe.
//
// Which kubeconfig rotor uses is the operator's choice, never a policy's: a kubeconfig can run an
// exec credential plugin, and a policy must not make rotor run anything (docs/design.md, Trust model).
import type { KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { PermanentError, RotorError, UnavailableError } from './errors.js';
import { redactError } from './redact.js';

/** RFC 1123 label: a namespace. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** RFC 1123 subdomain: the name of a Secret, Deployment, StatefulSet or DaemonSet. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A Secret's data key. */
export const SECRET_KEY = /^[-._a-zA-Z0-9]{1,253}$/;

export const namespaceField = () =>
  z.string().regex(DNS_LABEL, { error: 'must be a Kubernetes namespace: lower-case letters, digits and -, at most 63 characters' });

export const objectName = (what: string) =>
  z
    .string()
    .max(253)
    .regex(DNS_SUBDOMAIN, { error: `must be a Kubernetes ${what} name: lower-case letters, digits, - and ., at most 253 characters` });

/** One of the operator's kubeconfig contexts. */
export const contextField = () => z.string().min(1).max(253);

export interface SecretLocation {
  namespace: string;
  name: string;
  context: string | undefined;
  /** Whether the Secret also carries the PREVIOUS value as `previous-<field>` keys. */
  previous: boolean;
}

/** `<namespace>/<name>`, with `?context=<context>&previous=1` as the policy asks. */
export function secretLocation(l: SecretLocation): string {
  const query = new URLSearchParams();
  if (l.context) query.set('context', l.context);
  if (l.previous) query.set('previous', '1');
  const base = `${l.namespace}/${l.name}`;
  return query.size ? `${base}?${query.toString()}` : base;
}

export function parseSecretLocation(location: string): SecretLocation | null {
  const q = location.indexOf('?');
  const path = q < 0 ? location : location.slice(0, q);
  const [namespace, name, ...rest] = path.split('/');
  if (!namespace || !name || rest.length || !DNS_LABEL.test(namespace) || !DNS_SUBDOMAIN.test(name)) return null;
  const query = new URLSearchParams(q < 0 ? '' : location.slice(q + 1));
  return { namespace, name, context: query.get('context') ?? undefined, previous: query.get('previous') === '1' };
}

/** Which cluster and identity, from the default chain (KUBECONFIG, ~/.kube/config, in-cluster). */
export interface KubeTarget {
  /** A context of that kubeconfig; its current context when absent. */
  context?: string | undefined;
}

/** One API call, in RBAC's words: `patch` on `deployments` (group `apps`) in namespace `payments`. */
export interface KubeCall {
  verb: string;
  resource: string;
  group?: string;
  namespace: string;
  name?: string;
}

const configs = new Map<string, Promise<KubeConfig>>();

/** The loaded kubeconfig for `target`, once per process (client-node reloads tokens itself). */
export function kubeConfigFor(target: KubeTarget): Promise<KubeConfig> {
  const key = target.context ?? '';
  let config = configs.get(key);
  if (!config) {
    config = loadConfig(target);
    configs.set(key, config);
    // A failed load (a missing file) is not cached: the operator may fix it while rotor runs.
    config.catch(() => configs.delete(key));
  }
  return config;
}

async function loadConfig(target: KubeTarget): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  const source = process.env.KUBECONFIG ? `KUBECONFIG ${process.env.KUBECONFIG}` : 'the default kubeconfig chain';
  try {
    kc.loadFromDefault();
  } catch (err) {
    throw new PermanentError(`cannot load the Kubernetes configuration from ${source}: ${(err as Error).message}`, {
      hint: "set KUBECONFIG in rotor's environment to a readable kubeconfig file, or run rotor in the cluster with a service account",
    });
  }
  if (target.context) {
    if (!kc.getContextObject(target.context)) {
      throw new PermanentError(`the Kubernetes configuration (${source}) has no context ${target.context}`, {
        hint: `available contexts: ${kc.contexts.map((c) => c.name).join(', ') || 'none'}`,
      });
    }
    kc.setCurrentContext(target.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new PermanentError(`no Kubernetes cluster in ${source}`, {
      hint: "set KUBECONFIG in rotor's environment (and context: in the policy), or run rotor in the cluster with a service account",
    });
  }
  return kc;
}

/** Drops the cached configurations (tests that start a new fake API server per file). */
export function forgetKubeConfigs(): void {
  configs.clear();
}

interface ApiExceptionShape {
  code?: unknown;
  body?: unknown;
}

/** The HTTP status of a client-node ApiException, if `err` is one. */
export function kubeStatus(err: unknown): number | undefined {
  const code = (err as ApiExceptionShape | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The `message` of the Status object the API server answered with, when there is one. */
function statusMessage(err: unknown): string | undefined {
  let body = (err as ApiExceptionShape | null)?.body;
  if (typeof body === 'string') {
    const text = body;
    try {
      body = JSON.parse(text);
    } catch {
      return text.slice(0, 300) || undefined;
    }
  }
  const message = body && typeof body === 'object' ? (body as { message?: unknown }).message : undefined;
  return typeof message === 'string' ? message : undefined;
}

export function describeCall(call: KubeCall): string {
  const resource = call.group ? `${call.resource}.${call.group}` : call.resource;
  return `${call.verb} ${resource}${call.name ? `/${call.name}` : ''} in namespace ${call.namespace}`;
}

/**
 * Turns what a client-node call threw into a rotor error: 401/403 are permanent and name what to
 * grant, 429/5xx and network failures are retried (UnavailableError), the rest is a RotorError.
 * Messages go through redactError: nothing a request carried survives.
 */
export function kubeError(err: unknown, call: KubeCall): Error {
  if (err instanceof RotorError) return err;
  const status = kubeStatus(err);
  const detail = scrubbed(statusMessage(err) ?? (err instanceof Error ? err.message : String(err)));
  const what = describeCall(call);
  if (status === 403) {
    return new PermanentError(`Kubernetes denied ${what} (HTTP 403): ${detail}`, {
      hint:
        `grant rotor's identity the verb "${call.verb}" on resource "${call.resource}"` +
        ` (apiGroups: ["${call.group ?? ''}"]) in namespace ${call.namespace} with a Role and RoleBinding (docs/kubernetes.md has the Role)`,
    });
  }
  if (status === 401) {
    return new PermanentError(`Kubernetes refused rotor's credentials for ${what} (HTTP 401)`, {
      hint: "check the kubeconfig's user (an expired token or client certificate) or the pod's service account token",
    });
  }
  if (status === 429 || (status !== undefined && status >= 500) || (status === undefined && isNetworkError(detail))) {
    return new UnavailableError(`${what}: the Kubernetes API is unavailable (${status ?? 'network'}): ${detail}`);
  }
  return new RotorError(`${what} failed${status ? ` (HTTP ${status})` : ''}: ${detail}`);
}

function scrubbed(text: string): string {
  return redactError(new Error(text)).message;
}

function isNetworkError(message: string): boolean {
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|socket hang up|fetch failed|network/i.test(message);
}
