// A stateful fake of IAM (a user's access keys and tags) and of STS's GetCallerIdentity, answering
// the commands rotor sends as AWS documents them: at most two access keys per user (a third is
// LimitExceeded "Cannot exceed quota for AccessKeysPerUser: 2"), a secret given out only by
// CreateAccessKey, NoSuchEntity for unknown users and keys, AccessDenied naming the action, at most
// 50 tags per user, and GetAccessKeyLastUsed fed by every call a key signs. STS accepts a key only
// when it is active, its secret matches, and it is older than `settleMs`: a new key is refused for a
// moment after CreateAccessKey, as IAM's eventual consistency makes it (InvalidClientTokenId).
import { randomBytes } from 'node:crypto';
import { IAMServiceException, LimitExceededException, NoSuchEntityException } from '@aws-sdk/client-iam';
import { STSServiceException } from '@aws-sdk/client-sts';
import { FAKE_ACCOUNT, FAKE_IDENTITY } from './secrets-manager.js';
import { memoryState, type FakeState } from './state.js';

interface FakeKey {
  id: string;
  secret: string;
  status: 'Active' | 'Inactive';
  created: number;
  lastUsed?: { at: number; service: string; region: string };
}

interface FakeUser {
  name: string;
  id: string;
  keys: FakeKey[];
  tags: Record<string, string>;
}

export interface IamState {
  users: Record<string, FakeUser>;
  /** `iam:Action` → user names (or `*`) every caller is denied. */
  denied: Record<string, string[]>;
  /** Every call as `Action UserName [key label]` (never a secret). */
  calls: string[];
  /** How long a new key is refused by STS. */
  settleMs: number;
  /** Every secret access key ever given out, deleted keys' too: what a leak scan looks for. */
  issued: string[];
}

export function emptyIam(settleMs = 300): IamState {
  return { users: {}, denied: {}, calls: [], settleMs, issued: [] };
}

const meta = { httpStatusCode: 400, attempts: 1, totalRetryDelay: 0 };
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

type Input = Record<string, unknown>;

function newKeyId(): string {
  return `AKIA${[...randomBytes(16)].map((b) => BASE32[b % 32]).join('')}`;
}

export class FakeIam {
  constructor(readonly state: FakeState<IamState> = memoryState(emptyIam())) {}

  /** One IAM command by name (`CreateAccessKey`), as the mock dispatches it. */
  async handle(action: string, input: Input): Promise<Record<string, unknown>> {
    const op = IAM_OPS[action];
    if (!op)
      throw new IAMServiceException({
        name: 'InvalidAction',
        $fault: 'client',
        $metadata: meta,
        message: `the fake does not implement ${action}`,
      });
    return this.state.transact((s) => {
      const userName = input.UserName === undefined ? userOfKey(s, String(input.AccessKeyId ?? ''))?.name : String(input.UserName);
      s.calls.push(`${action} ${userName ?? '?'}${input.AccessKeyId ? ` ${String(input.AccessKeyId).slice(-4)}` : ''}`);
      const deny = s.denied[`iam:${action}`];
      if (deny && (deny.includes('*') || (userName && deny.includes(userName)))) {
        throw new IAMServiceException({
          name: 'AccessDenied',
          $fault: 'client',
          $metadata: { ...meta, httpStatusCode: 403 },
          message: `User: ${FAKE_IDENTITY} is not authorized to perform: iam:${action} on resource: user ${userName ?? '*'} because no identity-based policy allows the iam:${action} action`,
        });
      }
      return op(s, input);
    });
  }

  /** sts:GetCallerIdentity signed with `creds`: the identity, or the refusal STS gives. */
  async callerIdentity(creds: { accessKeyId: string; secretAccessKey: string }, region: string): Promise<Record<string, unknown>> {
    return this.state.transact((s) => {
      const user = userOfKey(s, creds.accessKeyId);
      const key = user?.keys.find((k) => k.id === creds.accessKeyId);
      const refuse = (name: string, message: string) =>
        new STSServiceException({ name, $fault: 'client', $metadata: { ...meta, httpStatusCode: 403 }, message });
      s.calls.push(`GetCallerIdentity ${creds.accessKeyId.slice(-4)}`);
      if (!user || !key || key.status !== 'Active' || Date.now() - key.created < s.settleMs)
        throw refuse('InvalidClientTokenId', 'The security token included in the request is invalid.');
      if (key.secret !== creds.secretAccessKey)
        throw refuse(
          'SignatureDoesNotMatch',
          'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
        );
      key.lastUsed = { at: Date.now(), service: 'sts', region };
      return { UserId: user.id, Account: FAKE_ACCOUNT, Arn: `arn:aws:iam::${FAKE_ACCOUNT}:user/${user.name}` };
    });
  }

  // --- what an operator or a test does outside rotor ---

  async createUser(name: string): Promise<void> {
    await this.state.transact((s) => {
      s.users[name] = { name, id: `AIDA${newKeyId().slice(4)}`, keys: [], tags: {} };
    });
  }

  /** A key made outside rotor (the console, the CLI): its id and secret. */
  async createKey(userName: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
    const out = (await this.handle('CreateAccessKey', { UserName: userName })) as {
      AccessKey: { AccessKeyId: string; SecretAccessKey: string };
    };
    return { accessKeyId: out.AccessKey.AccessKeyId, secretAccessKey: out.AccessKey.SecretAccessKey };
  }

  async setStatus(userName: string, keyId: string, status: 'Active' | 'Inactive'): Promise<void> {
    await this.handle('UpdateAccessKey', { UserName: userName, AccessKeyId: keyId, Status: status });
  }

  /** The user's keys (id, status), oldest first. */
  async keys(userName: string): Promise<Array<{ id: string; status: string }>> {
    const s = await this.state.snapshot();
    return (s.users[userName]?.keys ?? []).map((k) => ({ id: k.id, status: k.status }));
  }

  async tags(userName: string): Promise<Record<string, string>> {
    return { ...(await this.state.snapshot()).users[userName]?.tags };
  }

  /** Moves the clock of a key back: as if it had been created (and its tag written) `ms` earlier. */
  async age(userName: string, ms: number): Promise<void> {
    await this.state.transact((s) => {
      const user = s.users[userName]!;
      for (const k of user.keys) k.created -= ms;
      for (const [t, v] of Object.entries(user.tags))
        if (t.startsWith('rotor:held:')) user.tags[t] = new Date(Date.parse(v) - ms).toISOString();
    });
  }

  /** How long new keys are refused by STS from now on. */
  async setSettle(ms: number): Promise<void> {
    await this.state.transact((s) => void (s.settleMs = ms));
  }

  async deny(action: string, userName = '*'): Promise<void> {
    await this.state.transact((s) => void (s.denied[action] = [...(s.denied[action] ?? []), userName]));
  }

  async allowAll(): Promise<void> {
    await this.state.transact((s) => void (s.denied = {}));
  }

  async calls(): Promise<string[]> {
    return (await this.state.snapshot()).calls;
  }

  /** Every secret access key the fake ever gave out, deleted keys' too: what a leak scan looks for. */
  async secrets(): Promise<string[]> {
    return (await this.state.snapshot()).issued;
  }
}

function userOfKey(s: IamState, keyId: string): FakeUser | undefined {
  return Object.values(s.users).find((u) => u.keys.some((k) => k.id === keyId));
}

function requireUser(s: IamState, input: Input): FakeUser {
  const name = String(input.UserName ?? '');
  const user = s.users[name];
  if (!user)
    throw new NoSuchEntityException({
      message: `The user with name ${name} cannot be found.`,
      $metadata: { ...meta, httpStatusCode: 404 },
    });
  return user;
}

function requireKey(user: FakeUser, input: Input): FakeKey {
  const key = user.keys.find((k) => k.id === input.AccessKeyId);
  if (!key) {
    throw new NoSuchEntityException({
      message: `The Access Key with id ${String(input.AccessKeyId)} cannot be found.`,
      $metadata: { ...meta, httpStatusCode: 404 },
    });
  }
  return key;
}

const metadata = (user: FakeUser, k: FakeKey) => ({
  UserName: user.name,
  AccessKeyId: k.id,
  Status: k.status,
  CreateDate: new Date(k.created),
});

const IAM_OPS: Record<string, (s: IamState, input: Input) => Record<string, unknown>> = {
  CreateAccessKey(s, input) {
    const user = requireUser(s, input);
    if (user.keys.length >= 2)
      throw new LimitExceededException({
        message: 'Cannot exceed quota for AccessKeysPerUser: 2',
        $metadata: { ...meta, httpStatusCode: 409 },
      });
    const key: FakeKey = { id: newKeyId(), secret: randomBytes(30).toString('base64'), status: 'Active', created: Date.now() };
    user.keys.push(key);
    s.issued.push(key.secret);
    return { AccessKey: { ...metadata(user, key), SecretAccessKey: key.secret } };
  },
  ListAccessKeys(s, input) {
    const user = requireUser(s, input);
    return { AccessKeyMetadata: user.keys.map((k) => metadata(user, k)), IsTruncated: false };
  },
  UpdateAccessKey(s, input) {
    const key = requireKey(requireUser(s, input), input);
    if (input.Status !== 'Active' && input.Status !== 'Inactive')
      throw new IAMServiceException({
        name: 'ValidationError',
        $fault: 'client',
        $metadata: meta,
        message: 'Status must be Active or Inactive',
      });
    key.status = input.Status;
    return {};
  },
  DeleteAccessKey(s, input) {
    const user = requireUser(s, input);
    requireKey(user, input);
    user.keys = user.keys.filter((k) => k.id !== input.AccessKeyId);
    return {};
  },
  GetAccessKeyLastUsed(s, input) {
    const user = userOfKey(s, String(input.AccessKeyId ?? ''));
    // IAM answers an id it does not know with AccessDenied, not NoSuchEntity (it does not say which keys exist).
    if (!user)
      throw new IAMServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { ...meta, httpStatusCode: 403 },
        message: `User: ${FAKE_IDENTITY} is not authorized to perform: iam:GetAccessKeyLastUsed on resource: access key ${String(input.AccessKeyId)}`,
      });
    const used = user.keys.find((k) => k.id === input.AccessKeyId)!.lastUsed;
    return {
      UserName: user.name,
      AccessKeyLastUsed: used
        ? { LastUsedDate: new Date(used.at), ServiceName: used.service, Region: used.region }
        : { ServiceName: 'N/A', Region: 'N/A' },
    };
  },
  TagUser(s, input) {
    const user = requireUser(s, input);
    const tags = (input.Tags as Array<{ Key: string; Value: string }>) ?? [];
    const next = { ...user.tags, ...Object.fromEntries(tags.map((t) => [t.Key, t.Value])) };
    if (Object.keys(next).length > 50)
      throw new LimitExceededException({ message: 'Cannot exceed quota for TagsPerUser: 50', $metadata: meta });
    user.tags = next;
    return {};
  },
  UntagUser(s, input) {
    const user = requireUser(s, input);
    for (const k of (input.TagKeys as string[]) ?? []) delete user.tags[k];
    return {};
  },
  ListUserTags(s, input) {
    const user = requireUser(s, input);
    return { Tags: Object.entries(user.tags).map(([Key, Value]) => ({ Key, Value })), IsTruncated: false };
  },
};
