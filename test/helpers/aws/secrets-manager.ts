// A stateful fake of AWS Secrets Manager, answering the commands rotor sends as the service
// documents them: versions with staging labels (one version per label, AWSPREVIOUS following
// AWSCURRENT), ClientRequestToken idempotency (same value: nothing; another value:
// ResourceExistsException), the first version made AWSCURRENT automatically, and RotateSecret's
// "a previous rotation isn't complete" while AWSPENDING sits on a version that is not AWSCURRENT.
import {
  InvalidParameterException,
  InvalidRequestException,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { memoryState, type FakeState } from './state.js';

export const FAKE_ACCOUNT = '123456789012';
export const FAKE_REGION = 'eu-central-1';
export const FAKE_IDENTITY = `arn:aws:sts::${FAKE_ACCOUNT}:assumed-role/rotor/worker`;

interface FakeVersion {
  string: string;
  labels: string[];
  created: number;
}

interface FakeSecret {
  arn: string;
  name: string;
  kmsKeyId?: string;
  rotationEnabled?: boolean;
  owningService?: string;
  deletedAt?: number;
  versions: Record<string, FakeVersion>;
}

export interface SecretsManagerState {
  secrets: Record<string, FakeSecret>;
  /** `secretsmanager:Action` names every caller is denied (IAM), with the resources: `*` or ARNs/names. */
  denied: Record<string, string[]>;
  /** Every call as `Action SecretId`: what rotor asked, in order (never a value). */
  calls: string[];
  seq: number;
}

const meta = { httpStatusCode: 400, attempts: 1, totalRetryDelay: 0 };

type Input = Record<string, unknown>;

export class FakeSecretsManager {
  constructor(readonly state: FakeState<SecretsManagerState> = memoryState(emptySecretsManager())) {}

  /** Dispatches one command by its name (`PutSecretValue`); used by the mock and the HTTP handler. */
  async handle(action: string, input: Input): Promise<Record<string, unknown>> {
    const op = OPS[action];
    if (!op) throw new InvalidRequestException({ message: `the fake does not implement ${action}`, $metadata: meta });
    return this.state.transact((s) => {
      s.calls.push(`${action} ${String(input.SecretId ?? input.Name ?? '')}`);
      const id = String(input.SecretId ?? input.Name ?? '');
      const secret = findSecret(s, id);
      const deny = s.denied[`secretsmanager:${action}`];
      if (deny && (deny.includes('*') || deny.includes(id) || (secret && (deny.includes(secret.arn) || deny.includes(secret.name))))) {
        throw new SecretsManagerServiceException({
          name: 'AccessDeniedException',
          $fault: 'client',
          $metadata: meta,
          message: `User: ${FAKE_IDENTITY} is not authorized to perform: secretsmanager:${action} on resource: ${secret?.arn ?? id} because no identity-based policy allows the secretsmanager:${action} action`,
        });
      }
      return op(s, input, secret);
    });
  }

  /** Creates a secret (as an operator would, outside rotor), optionally with a first value. */
  async createSecret(name: string, opts: { value?: string; rotationEnabled?: boolean; owningService?: string } = {}): Promise<string> {
    const out = await this.handle('CreateSecret', { Name: name, ...(opts.value ? { SecretString: opts.value } : {}) });
    if (opts.rotationEnabled || opts.owningService) {
      await this.state.transact((s) => {
        const secret = findSecret(s, name)!;
        secret.rotationEnabled = opts.rotationEnabled;
        secret.owningService = opts.owningService;
      });
    }
    return String(out.ARN);
  }

  async deny(action: string, resource = '*'): Promise<void> {
    await this.state.transact((s) => void (s.denied[action] = [...(s.denied[action] ?? []), resource]));
  }

  async allowAll(): Promise<void> {
    await this.state.transact((s) => void (s.denied = {}));
  }

  /** versionId → labels of one secret. */
  async labels(name: string): Promise<Record<string, string[]>> {
    const s = await this.state.snapshot();
    const secret = findSecret(s, name);
    return Object.fromEntries(Object.entries(secret?.versions ?? {}).map(([id, v]) => [id, v.labels]));
  }

  async calls(): Promise<string[]> {
    return (await this.state.snapshot()).calls;
  }
}

export function emptySecretsManager(): SecretsManagerState {
  return { secrets: {}, denied: {}, calls: [], seq: 0 };
}

function findSecret(s: SecretsManagerState, id: string): FakeSecret | undefined {
  return s.secrets[id] ?? Object.values(s.secrets).find((x) => x.arn === id);
}

function requireSecret(secret: FakeSecret | undefined, input: Input, opts: { allowDeleted?: boolean } = {}): FakeSecret {
  if (!secret) throw new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: meta });
  if (secret.deletedAt && !opts.allowDeleted) {
    throw new InvalidRequestException({
      message: `You can't perform this operation on the secret because it was marked for deletion. (${String(input.SecretId)})`,
      $metadata: meta,
    });
  }
  return secret;
}

function holderOf(secret: FakeSecret, label: string): string | undefined {
  return Object.entries(secret.versions).find(([, v]) => v.labels.includes(label))?.[0];
}

/** Attaches `label` to `versionId`, taking it from whichever version held it (AWSPREVIOUS follows AWSCURRENT). */
function attach(secret: FakeSecret, label: string, versionId: string): void {
  const from = holderOf(secret, label);
  if (from === versionId) return;
  if (from !== undefined) secret.versions[from]!.labels = secret.versions[from]!.labels.filter((l) => l !== label);
  secret.versions[versionId]!.labels.push(label);
  if (label === 'AWSCURRENT' && from !== undefined) attach(secret, 'AWSPREVIOUS', from);
}

function checkToken(token: unknown): string {
  if (typeof token !== 'string' || token.length < 32 || token.length > 64) {
    throw new InvalidParameterException({ message: 'ClientRequestToken must be 32 to 64 characters.', $metadata: meta });
  }
  return token;
}

function versionOut(secret: FakeSecret, versionId: string) {
  return { ARN: secret.arn, Name: secret.name, VersionId: versionId, VersionStages: [...secret.versions[versionId]!.labels] };
}

const OPS: Record<string, (s: SecretsManagerState, input: Input, secret: FakeSecret | undefined) => Record<string, unknown>> = {
  CreateSecret(s, input, secret) {
    const name = String(input.Name);
    if (secret)
      throw new ResourceExistsException({ message: `The operation failed because the secret ${name} already exists.`, $metadata: meta });
    const suffix = (++s.seq).toString(36).padStart(6, '0');
    const created: FakeSecret = {
      arn: `arn:aws:secretsmanager:${FAKE_REGION}:${FAKE_ACCOUNT}:secret:${name}-${suffix}`,
      name,
      versions: {},
    };
    if (typeof input.KmsKeyId === 'string') created.kmsKeyId = input.KmsKeyId;
    s.secrets[name] = created;
    if (typeof input.SecretString === 'string') {
      const token =
        typeof input.ClientRequestToken === 'string' ? input.ClientRequestToken : `initial-version-${suffix}-0000000000000000000`;
      created.versions[token] = { string: input.SecretString, labels: ['AWSCURRENT'], created: Date.now() };
      return { ARN: created.arn, Name: name, VersionId: token };
    }
    return { ARN: created.arn, Name: name };
  },

  DescribeSecret(_s, input, secret) {
    const x = requireSecret(secret, input, { allowDeleted: true });
    return {
      ARN: x.arn,
      Name: x.name,
      KmsKeyId: x.kmsKeyId,
      RotationEnabled: x.rotationEnabled ?? false,
      OwningService: x.owningService,
      DeletedDate: x.deletedAt ? new Date(x.deletedAt) : undefined,
      VersionIdsToStages: Object.fromEntries(
        Object.entries(x.versions)
          .filter(([, v]) => v.labels.length)
          .map(([id, v]) => [id, [...v.labels]]),
      ),
    };
  },

  GetSecretValue(_s, input, secret) {
    const x = requireSecret(secret, input);
    const byStage = typeof input.VersionStage === 'string' ? holderOf(x, input.VersionStage) : undefined;
    const byId = typeof input.VersionId === 'string' ? input.VersionId : undefined;
    if (input.VersionStage !== undefined && byStage === undefined) {
      throw new ResourceNotFoundException({
        message: `Secrets Manager can't find the specified secret value for staging label: ${String(input.VersionStage)}`,
        $metadata: meta,
      });
    }
    if (byId !== undefined && byStage !== undefined && byId !== byStage) {
      throw new InvalidParameterException({
        message: 'You provided a VersionStage that is not attached to the version you specified.',
        $metadata: meta,
      });
    }
    const versionId = byId ?? byStage ?? holderOf(x, 'AWSCURRENT');
    if (versionId === undefined || !x.versions[versionId]) {
      throw new ResourceNotFoundException({
        message: `Secrets Manager can't find the specified secret value for VersionId: ${String(versionId)}`,
        $metadata: meta,
      });
    }
    return {
      ...versionOut(x, versionId),
      SecretString: x.versions[versionId]!.string,
      CreatedDate: new Date(x.versions[versionId]!.created),
    };
  },

  PutSecretValue(_s, input, secret) {
    const x = requireSecret(secret, input);
    const token = checkToken(input.ClientRequestToken);
    const text = input.SecretString;
    if (typeof text !== 'string')
      throw new InvalidParameterException({ message: 'You must provide either SecretString or SecretBinary.', $metadata: meta });
    const known = x.versions[token];
    if (known) {
      if (known.string === text) return versionOut(x, token); // the documented no-op
      throw new ResourceExistsException({
        message: `You can't modify an existing version, you can only create new versions. (VersionId ${token})`,
        $metadata: meta,
      });
    }
    const first = Object.keys(x.versions).length === 0;
    x.versions[token] = { string: text, labels: [], created: Date.now() };
    const labels = Array.isArray(input.VersionStages) ? (input.VersionStages as string[]) : ['AWSCURRENT'];
    for (const label of labels) attach(x, label, token);
    if (first && !labels.includes('AWSCURRENT')) attach(x, 'AWSCURRENT', token);
    return versionOut(x, token);
  },

  UpdateSecretVersionStage(_s, input, secret) {
    const x = requireSecret(secret, input);
    const label = String(input.VersionStage);
    const move = input.MoveToVersionId as string | undefined;
    const remove = input.RemoveFromVersionId as string | undefined;
    const current = holderOf(x, label);
    if (move !== undefined && !x.versions[move])
      throw new ResourceNotFoundException({ message: `Secrets Manager can't find the specified secret version: ${move}`, $metadata: meta });
    if (remove !== undefined && remove !== current) {
      throw new InvalidParameterException({ message: `The staging label ${label} is not attached to version ${remove}.`, $metadata: meta });
    }
    if (move !== undefined && current !== undefined && current !== move && remove !== current) {
      throw new InvalidParameterException({
        message: `The staging label ${label} is currently attached to version ${current}; name it in RemoveFromVersionId to move it.`,
        $metadata: meta,
      });
    }
    if (move === undefined) {
      if (label === 'AWSCURRENT')
        throw new InvalidParameterException({
          message: 'You can only move AWSCURRENT to another version, not remove it.',
          $metadata: meta,
        });
      if (remove !== undefined) x.versions[remove]!.labels = x.versions[remove]!.labels.filter((l) => l !== label);
    } else {
      attach(x, label, move);
    }
    return { ARN: x.arn, Name: x.name };
  },

  ListSecretVersionIds(_s, input, secret) {
    const x = requireSecret(secret, input);
    const versions = Object.entries(x.versions)
      .filter(([, v]) => input.IncludeDeprecated === true || v.labels.length > 0)
      .map(([id, v]) => ({ VersionId: id, VersionStages: [...v.labels], CreatedDate: new Date(v.created) }));
    return { ARN: x.arn, Name: x.name, Versions: versions };
  },

  RotateSecret(_s, input, secret) {
    const x = requireSecret(secret, input);
    const pending = holderOf(x, 'AWSPENDING');
    if (pending !== undefined && !x.versions[pending]!.labels.includes('AWSCURRENT')) {
      throw new InvalidRequestException({
        message: "A previous rotation isn't complete. That rotation will be reattempted.",
        $metadata: meta,
      });
    }
    // The fake has no rotation function to call: it only answers whether a rotation could start.
    return { ARN: x.arn, Name: x.name };
  },

  DeleteSecret(_s, input, secret) {
    const x = requireSecret(secret, input);
    x.deletedAt = Date.now();
    return { ARN: x.arn, Name: x.name, DeletionDate: new Date(x.deletedAt + 7 * 86_400_000) };
  },
};
