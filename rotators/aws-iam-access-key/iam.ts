// The IAM side of an access key: the user's keys (id, status, creation), the tags rotor keeps on the
// user to remember which keys it deactivated and when (IAM has no tags on keys and records no
// deactivation time), and the calls that create, deactivate and delete keys. Clients come from the
// SDK's default chain (AWS_REGION, AWS_ENDPOINT_URL[_IAM], roles), as for the other AWS rotators.
import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUserTagsCommand,
  TagUserCommand,
  UntagUserCommand,
  UpdateAccessKeyCommand,
  type Tag,
} from '@aws-sdk/client-iam';
import { awsError, awsErrorCode } from '../../src/aws/errors.js';
import { sdkLogger } from '../../src/aws/sdk-logger.js';
import { PermanentError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { trackSecret } from '../../src/redact.js';
import { formatIntent, parseIntent, type CreateIntent } from './intent.js';

/** The tag key prefix on the user: `rotor:held:<AccessKeyId>` = when rotor deactivated that key (ISO 8601). */
export const HELD_TAG_PREFIX = 'rotor:held:';

export interface KeyFacts {
  id: string;
  status: 'Active' | 'Inactive';
  created: Date;
}

/** A new key as CreateAccessKey returns it: the only time AWS ever gives out its secret. */
export interface NewKey {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * Error codes with which IAM refuses a CreateAccessKey it never carried out: after them no key
 * can exist from that call (it is sent once, never retried by the SDK).
 */
const NOT_CREATED = new Set([
  'LimitExceededException',
  'NoSuchEntityException',
  'AccessDenied',
  'AccessDeniedException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'Throttling',
  'ThrottlingException',
  'ValidationError',
]);

/** One user's IAM operations, on one client, closed with `close()`. */
export class IamUser {
  private readonly client: IAMClient;
  /**
   * CreateAccessKey alone, never retried by the SDK: a retry after an answer lost in transit would
   * make a second key whose secret nobody has. The engine retries the step instead, which first
   * takes back what the lost call made (intent.ts).
   */
  private readonly creator: IAMClient;

  constructor(
    readonly userName: string,
    region: string | undefined,
    log: Logger,
  ) {
    const config = { ...(region ? { region } : {}), logger: sdkLogger(log, 'iam') };
    this.client = new IAMClient(config);
    this.creator = new IAMClient({ ...config, maxAttempts: 1 });
  }

  close(): void {
    this.client.destroy();
    this.creator.destroy();
  }

  private async call<T>(action: string, fn: () => Promise<T>, resource = `user ${this.userName}`): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (awsErrorCode(err) === 'NoSuchEntityException') {
        throw new PermanentError(`iam:${action}: ${resource} does not exist`, {
          cause: awsError(err, { action: `iam:${action}`, resource }),
          hint: 'check target.userName in the policy (and that rotor runs in the account that has this user)',
        });
      }
      throw awsError(err, { action: `iam:${action}`, resource });
    }
  }

  /** The user's keys, oldest first. */
  async keys(): Promise<KeyFacts[]> {
    const out: KeyFacts[] = [];
    let marker: string | undefined;
    do {
      const page = await this.call('ListAccessKeys', () =>
        this.client.send(new ListAccessKeysCommand({ UserName: this.userName, ...(marker ? { Marker: marker } : {}) })),
      );
      for (const k of page.AccessKeyMetadata ?? []) {
        if (!k.AccessKeyId) continue;
        out.push({ id: k.AccessKeyId, status: k.Status === 'Inactive' ? 'Inactive' : 'Active', created: k.CreateDate ?? new Date(0) });
      }
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    return out.sort((a, b) => a.created.getTime() - b.created.getTime());
  }

  /** Key id → when rotor deactivated it, from the user's `rotor:held:` tags. */
  async held(): Promise<Map<string, Date>> {
    const held = new Map<string, Date>();
    for (const [key, value] of await this.tags()) {
      if (!key.startsWith(HELD_TAG_PREFIX)) continue;
      const at = new Date(value);
      // A tag someone edited into nonsense holds the key from now: never deleted early because of it.
      held.set(key.slice(HELD_TAG_PREFIX.length), Number.isNaN(at.getTime()) ? new Date() : at);
    }
    return held;
  }

  /** The user's tags, key → value. */
  private async tags(): Promise<Map<string, string>> {
    const tags = new Map<string, string>();
    let marker: string | undefined;
    do {
      const page = await this.call('ListUserTags', () =>
        this.client.send(new ListUserTagsCommand({ UserName: this.userName, ...(marker ? { Marker: marker } : {}) })),
      );
      for (const t of page.Tags ?? []) if (t.Key) tags.set(t.Key, t.Value ?? '');
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    return tags;
  }

  async markHeld(keyId: string, at: Date): Promise<void> {
    const tags: Tag[] = [{ Key: `${HELD_TAG_PREFIX}${keyId}`, Value: at.toISOString() }];
    await this.call('TagUser', () => this.client.send(new TagUserCommand({ UserName: this.userName, Tags: tags })));
  }

  async unmarkHeld(keyIds: string[]): Promise<void> {
    if (!keyIds.length) return;
    const keys = keyIds.map((id) => `${HELD_TAG_PREFIX}${id}`);
    await this.call('UntagUser', () => this.client.send(new UntagUserCommand({ UserName: this.userName, TagKeys: keys })));
  }

  /** The intent recorded under `tagKey` (intent.ts), or undefined; a value that is not one is undefined too. */
  async intent(tagKey: string): Promise<{ found: boolean; intent?: CreateIntent }> {
    const value = (await this.tags()).get(tagKey);
    return value === undefined ? { found: false } : { found: true, intent: parseIntent(value) };
  }

  async markCreating(tagKey: string, intent: CreateIntent): Promise<void> {
    const tags: Tag[] = [{ Key: tagKey, Value: formatIntent(intent) }];
    await this.call('TagUser', () => this.client.send(new TagUserCommand({ UserName: this.userName, Tags: tags })));
  }

  /** Removes the intent under `tagKey` when the user has it. */
  async unmarkCreating(tagKey: string): Promise<void> {
    if (!(await this.tags()).has(tagKey)) return;
    await this.call('UntagUser', () => this.client.send(new UntagUserCommand({ UserName: this.userName, TagKeys: [tagKey] })));
  }

  /**
   * CreateAccessKey, sent once. When IAM refuses it in a way that proves no key was made, the
   * intent under `tagKey` goes before the error is thrown: left behind, it would make a key someone
   * else creates in the next minutes look like this call's.
   */
  async create(tagKey: string): Promise<NewKey> {
    let out;
    try {
      out = await this.creator.send(new CreateAccessKeyCommand({ UserName: this.userName }));
    } catch (err) {
      if (NOT_CREATED.has(awsErrorCode(err) ?? '')) await this.unmarkCreating(tagKey).catch(() => undefined);
      if (awsErrorCode(err) === 'LimitExceededException') {
        // Not throttling (which awsError would make of it): the user has two keys again.
        throw new PermanentError(`iam:CreateAccessKey: user ${this.userName} already has two access keys`, {
          cause: awsError(err, { action: 'iam:CreateAccessKey', resource: `user ${this.userName}` }),
          hint: 'someone created a key while rotor made room for its own; see `aws iam list-access-keys` and rotate again',
        });
      }
      return this.call('CreateAccessKey', () => Promise.reject(err));
    }
    const id = out.AccessKey?.AccessKeyId;
    const secret = out.AccessKey?.SecretAccessKey;
    if (secret) trackSecret(secret);
    if (!id || !secret) throw new PermanentError(`iam:CreateAccessKey for user ${this.userName} returned no key`);
    return { accessKeyId: id, secretAccessKey: secret };
  }

  async setStatus(keyId: string, status: 'Active' | 'Inactive'): Promise<void> {
    await this.call(
      'UpdateAccessKey',
      () => this.client.send(new UpdateAccessKeyCommand({ UserName: this.userName, AccessKeyId: keyId, Status: status })),
      `access key ${label(keyId)} of user ${this.userName}`,
    );
  }

  async delete(keyId: string): Promise<void> {
    try {
      await this.client.send(new DeleteAccessKeyCommand({ UserName: this.userName, AccessKeyId: keyId }));
    } catch (err) {
      // Already gone: what deleting it was for.
      if (awsErrorCode(err) === 'NoSuchEntityException') return;
      throw awsError(err, { action: 'iam:DeleteAccessKey', resource: `access key ${label(keyId)} of user ${this.userName}` });
    }
  }

  /** When IAM last saw the key used (undefined: never, since IAM began tracking). */
  async lastUsed(keyId: string): Promise<Date | undefined> {
    const out = await this.call(
      'GetAccessKeyLastUsed',
      () => this.client.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: keyId })),
      `access key ${label(keyId)}`,
    );
    return out.AccessKeyLastUsed?.LastUsedDate;
  }
}

/**
 * How logs, errors and step details name a key rotor holds in the store: its first and last four
 * characters. The engine redacts every field of a stored value (the id included) wherever it
 * appears, so the whole id would print as [redacted]; this much still tells keys apart.
 */
export function label(keyId: string): string {
  return keyId.length > 8 ? `${keyId.slice(0, 4)}…${keyId.slice(-4)}` : keyId;
}
