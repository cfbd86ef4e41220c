// The `aws-secrets-manager` secret store: rotor's stages are Secrets Manager's staging labels
// (PENDING = AWSPENDING, CURRENT = AWSCURRENT, PREVIOUS = AWSPREVIOUS), versions are created with
// ClientRequestToken = the run's version id, so applications that read AWSCURRENT keep working and
// a resumed run converges on the same version.
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { awsError, awsErrorCode } from '../../aws/errors.js';
import { secretsManagerClients, type SecretsManagerClientsOptions } from '../../aws/sm-clients.js';
import { InvalidInputError, NotFoundError, PermanentError } from '../../errors.js';
import { trackSecret } from '../../redact.js';
import type { SecretValue } from '../../rotator/contract.js';
import { parseAwsLocation } from '../aws-location.js';
import type { SecretStore, Stage, StoredVersion, VersionInfo } from '../contract.js';
import { STAGES } from '../local/stages.js';

export const AWS_LABEL: Readonly<Record<Stage, string>> = { CURRENT: 'AWSCURRENT', PENDING: 'AWSPENDING', PREVIOUS: 'AWSPREVIOUS' };

/** Client options: the SDK log and extra configuration (tests); see secretsManagerClients. */
export type AwsSecretsManagerStoreOptions = SecretsManagerClientsOptions;

/** One secret's versions and labels, as DescribeSecret reports them. */
interface Labels {
  name: string;
  versions: Map<string, Set<string>>;
}

/** The version holding `label`, if any. */
function holder(l: Labels, label: string): string | undefined {
  for (const [id, labels] of l.versions) if (labels.has(label)) return id;
  return undefined;
}

/**
 * rotor's stages of a version with these labels. AWSPENDING on the AWSCURRENT version marks a
 * rotation that finished (AWS's own rotation functions leave it there), so it is not PENDING.
 */
export function stagesOfLabels(labels: Iterable<string>): Stage[] {
  const set = new Set(labels);
  return STAGES.filter((s) => set.has(AWS_LABEL[s]) && !(s === 'PENDING' && set.has('AWSCURRENT')));
}

/** The value as stored: JSON with sorted keys, so the same value is the same SecretString. */
function encode(value: SecretValue): string {
  return JSON.stringify(Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

export function createAwsSecretsManagerStore(opts: AwsSecretsManagerStoreOptions = {}): SecretStore {
  const clientFor = secretsManagerClients(opts);

  /** Runs one SDK call; `missing` answers ResourceNotFoundException instead of throwing. */
  async function call<T, M = never>(
    location: string,
    action: string,
    run: (c: SecretsManagerClient, secretId: string) => Promise<T>,
    missing?: () => M,
  ): Promise<T | M> {
    const { secretId, region } = parseAwsLocation(checkLocation(location));
    try {
      return await run(clientFor(region), secretId);
    } catch (err) {
      if (missing && awsErrorCode(err) === 'ResourceNotFoundException') return missing();
      throw awsError(err, { action: `secretsmanager:${action}`, resource: secretId });
    }
  }

  async function labelsOf(location: string): Promise<Labels | null> {
    return call(
      location,
      'DescribeSecret',
      async (c, SecretId) => {
        const d = await c.send(new DescribeSecretCommand({ SecretId }));
        if (d.DeletedDate) {
          throw new PermanentError(
            `AWS secret ${SecretId} is scheduled for deletion (since ${d.DeletedDate.toISOString()}); rotor will not write to it`,
            {
              hint: `restore it (aws secretsmanager restore-secret --secret-id ${SecretId}) or point the policy at another secret`,
            },
          );
        }
        if (d.OwningService) {
          throw new PermanentError(`AWS secret ${SecretId} is managed by ${d.OwningService}, which rotates it itself; rotor must not`, {
            hint: 'give rotor a secret of its own, or leave this one to its owning service and remove it from the policies',
          });
        }
        if (d.RotationEnabled) {
          throw new PermanentError(
            `AWS secret ${SecretId} has Secrets Manager rotation turned on; two rotators would fight over AWSPENDING`,
            {
              hint: `turn it off (aws secretsmanager cancel-rotate-secret --secret-id ${SecretId}) to let rotor rotate it, or remove it from rotor's policies`,
            },
          );
        }
        const versions = new Map(Object.entries(d.VersionIdsToStages ?? {}).map(([id, labels]) => [id, new Set(labels)]));
        return { name: d.Name ?? SecretId, versions };
      },
      () => null,
    );
  }

  async function read(location: string, input: { VersionStage?: string; VersionId?: string }, what: string): Promise<StoredVersion | null> {
    return call(
      location,
      'GetSecretValue',
      async (c, SecretId) => {
        const out = await c.send(new GetSecretValueCommand({ SecretId, ...input }));
        if (input.VersionStage === AWS_LABEL.PENDING && out.VersionStages?.includes('AWSCURRENT')) return null;
        if (out.SecretString === undefined || !out.VersionId) {
          throw new PermanentError(`${what} of AWS secret ${SecretId} holds binary data, not rotor's JSON`, {
            hint: 'rotor stores a JSON object of strings and numbers in SecretString; point the policy at a secret rotor owns',
          });
        }
        return { versionId: out.VersionId, value: decode(out.SecretString, `${what} of AWS secret ${SecretId}`) };
      },
      () => null,
    );
  }

  async function moveLabel(
    location: string,
    input: { VersionStage: string; MoveToVersionId?: string; RemoveFromVersionId?: string },
  ): Promise<void> {
    await call(location, 'UpdateSecretVersionStage', (c, SecretId) => c.send(new UpdateSecretVersionStageCommand({ SecretId, ...input })));
  }

  async function existing(location: string): Promise<Labels> {
    const l = await labelsOf(location);
    if (!l) {
      const { secretId, region } = parseAwsLocation(location);
      throw new PermanentError(
        `AWS secret ${secretId} does not exist${region ? ` in ${region}` : ''}; rotor adds versions to a secret, it never creates one`,
        {
          hint: `create it with your infrastructure code, or: aws secretsmanager create-secret --name ${secretId}${region ? ` --region ${region}` : ''} (with --kms-key-id for a key of your own)`,
        },
      );
    }
    return l;
  }

  return {
    backend: 'aws-secrets-manager',

    async get(location, stage) {
      if (!STAGES.includes(stage)) throw new InvalidInputError(`stage ${String(stage)} is not one of ${STAGES.join(', ')}`);
      return read(location, { VersionStage: AWS_LABEL[stage] }, stage);
    },

    async getVersion(location, versionId) {
      return read(location, { VersionId: checkVersionId(versionId) }, `version ${versionId}`);
    },

    async putPending(location, versionId, value) {
      checkVersionId(versionId);
      const secretString = encode(value);
      const l = await existing(location);
      // PutSecretValue would silently move AWSPENDING off an unfinished rotation's version, and with
      // it the only trace of a credential that may work on the target: refuse instead.
      const pending = holder(l, AWS_LABEL.PENDING);
      if (pending !== undefined && pending !== versionId && !l.versions.get(pending)?.has('AWSCURRENT')) {
        throw new PermanentError(
          `AWS secret ${l.name} already has a PENDING version (AWSPENDING), ${pending}, from a rotation that did not finish, so version ${versionId} cannot be staged`,
          { hint: `if that rotation is abandoned, clear it with: rotor repair <secret id>  (it discards AWSPENDING version ${pending})` },
        );
      }
      await call(location, 'PutSecretValue', async (c, SecretId) => {
        try {
          await c.send(
            new PutSecretValueCommand({
              SecretId,
              ClientRequestToken: versionId,
              SecretString: secretString,
              VersionStages: [AWS_LABEL.PENDING],
            }),
          );
        } catch (err) {
          if (awsErrorCode(err) !== 'ResourceExistsException') throw err;
          // The AWS rule the contract adopts: the same token and value is a retry; another value is a bug.
          throw new PermanentError(
            `version ${versionId} of AWS secret ${SecretId} already exists with a different value; a version's value never changes`,
            {
              hint: 'stage the new value under a new version id',
            },
          );
        }
      });
    },

    async promote(location, versionId) {
      checkVersionId(versionId);
      const l = await existing(location);
      const labels = l.versions.get(versionId);
      if (!labels) {
        throw new NotFoundError(`AWS secret ${l.name} has no staged version ${versionId}, so it cannot be promoted`, {
          hint: "a version exists once putPending (a run's create step) has staged it",
        });
      }
      const current = holder(l, AWS_LABEL.CURRENT);
      if (current !== versionId) {
        // Secrets Manager moves AWSPREVIOUS to the version AWSCURRENT leaves: a rollback swaps the two.
        await moveLabel(location, {
          VersionStage: AWS_LABEL.CURRENT,
          MoveToVersionId: versionId,
          ...(current ? { RemoveFromVersionId: current } : {}),
        });
      }
      if (labels.has(AWS_LABEL.PENDING)) await moveLabel(location, { VersionStage: AWS_LABEL.PENDING, RemoveFromVersionId: versionId });
    },

    async discardPending(location, versionId) {
      checkVersionId(versionId);
      const l = await labelsOf(location);
      if (l?.versions.get(versionId)?.has(AWS_LABEL.PENDING)) {
        await moveLabel(location, { VersionStage: AWS_LABEL.PENDING, RemoveFromVersionId: versionId });
      }
    },

    async clearPrevious(location) {
      const l = await labelsOf(location);
      const previous = l ? holder(l, AWS_LABEL.PREVIOUS) : undefined;
      if (previous !== undefined) await moveLabel(location, { VersionStage: AWS_LABEL.PREVIOUS, RemoveFromVersionId: previous });
    },

    async describe(location): Promise<VersionInfo[]> {
      const versions: VersionInfo[] = [];
      let NextToken: string | undefined;
      do {
        const page = await call(
          location,
          'ListSecretVersionIds',
          (c, SecretId) => c.send(new ListSecretVersionIdsCommand({ SecretId, NextToken, MaxResults: 100 })),
          () => null,
        );
        if (!page) return [];
        for (const v of page.Versions ?? []) {
          if (v.VersionId)
            versions.push({
              versionId: v.VersionId,
              stages: stagesOfLabels(v.VersionStages ?? []),
              createdAt: v.CreatedDate ?? new Date(0),
            });
        }
        NextToken = page.NextToken;
      } while (NextToken);
      return versions.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.versionId < b.versionId ? 1 : -1));
    },
  };
}

/** Parses a SecretString into a flat value; the error names the field, never what it holds. */
function decode(text: string, what: string): SecretValue {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new PermanentError(`${what} is not JSON`, {
      hint: 'rotor stores a JSON object of strings and numbers; point the policy at a secret rotor owns',
    });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PermanentError(`${what} is not a JSON object`, { hint: 'rotor stores a JSON object of strings and numbers' });
  }
  const value: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== 'string' && typeof v !== 'number') {
      throw new PermanentError(`${what}: field ${k} is a ${v === null ? 'null' : typeof v}, not a string or number`, {
        hint: 'rotor stores a flat JSON object (the layout of AWS rotation templates: username, password, host, port, dbname, engine)',
      });
    }
    value[k] = v;
  }
  trackSecret(value);
  return value;
}

function checkLocation(location: string): string {
  if (typeof location !== 'string' || location.length === 0 || location.length > 2100) {
    throw new InvalidInputError('an AWS Secrets Manager location must be a secret name or ARN of 1 to 2048 characters');
  }
  return location;
}

/** ClientRequestToken's limits: rotor's version ids (run id and attempt) are 38 characters. */
function checkVersionId(versionId: string): string {
  if (typeof versionId !== 'string' || versionId.length < 32 || versionId.length > 64) {
    throw new InvalidInputError(`version id ${String(versionId)} cannot be an AWS ClientRequestToken, which takes 32 to 64 characters`);
  }
  return versionId;
}
