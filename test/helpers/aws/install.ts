// Routes every SecretsManagerClient, RDSClient, IAMClient and STSClient in this process to the fakes, with
// aws-sdk-client-mock (only `send` is replaced: rotor's own client code runs as in production).
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  ModifyDBClusterCommand,
  ModifyDBInstanceCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
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
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import type { FakeIam } from './iam.js';
import type { FakeRds } from './rds.js';
import type { FakeSecretsManager } from './secrets-manager.js';

const SM_COMMANDS = {
  CreateSecret: CreateSecretCommand,
  DeleteSecret: DeleteSecretCommand,
  DescribeSecret: DescribeSecretCommand,
  GetSecretValue: GetSecretValueCommand,
  ListSecretVersionIds: ListSecretVersionIdsCommand,
  PutSecretValue: PutSecretValueCommand,
  RotateSecret: RotateSecretCommand,
  UpdateSecretVersionStage: UpdateSecretVersionStageCommand,
};
const RDS_COMMANDS = {
  DescribeDBInstances: DescribeDBInstancesCommand,
  DescribeDBClusters: DescribeDBClustersCommand,
  ModifyDBInstance: ModifyDBInstanceCommand,
  ModifyDBCluster: ModifyDBClusterCommand,
};
const IAM_COMMANDS = {
  CreateAccessKey: CreateAccessKeyCommand,
  DeleteAccessKey: DeleteAccessKeyCommand,
  GetAccessKeyLastUsed: GetAccessKeyLastUsedCommand,
  ListAccessKeys: ListAccessKeysCommand,
  ListUserTags: ListUserTagsCommand,
  TagUser: TagUserCommand,
  UntagUser: UntagUserCommand,
  UpdateAccessKey: UpdateAccessKeyCommand,
};

/** Installs the fakes; returns the undo. Commands the fakes do not know fail loudly. */
export function installAwsFakes(fakes: { sm?: FakeSecretsManager; rds?: FakeRds; iam?: FakeIam }): () => void {
  const undo: Array<() => void> = [];
  if (fakes.sm) {
    const sm = fakes.sm;
    const mock = mockClient(SecretsManagerClient);
    mock.onAnyCommand().rejects(new Error('the Secrets Manager fake does not implement this command'));
    for (const [name, command] of Object.entries(SM_COMMANDS)) {
      mock.on(command as typeof PutSecretValueCommand).callsFake((input: Record<string, unknown>) => sm.handle(name, input));
    }
    undo.push(() => mock.restore());
  }
  if (fakes.rds) {
    const rds = fakes.rds;
    const mock = mockClient(RDSClient);
    mock.onAnyCommand().rejects(new Error('the RDS fake does not implement this command'));
    for (const [name, command] of Object.entries(RDS_COMMANDS)) {
      mock.on(command as typeof ModifyDBInstanceCommand).callsFake((input: Record<string, unknown>) => rds.handle(name, input));
    }
    undo.push(() => mock.restore());
  }
  if (fakes.iam) {
    const iam = fakes.iam;
    const mock = mockClient(IAMClient);
    mock.onAnyCommand().rejects(new Error('the IAM fake does not implement this command'));
    for (const [name, command] of Object.entries(IAM_COMMANDS)) {
      mock.on(command as typeof CreateAccessKeyCommand).callsFake((input: Record<string, unknown>) => iam.handle(name, input));
    }
    // STS sees who signed: the credentials the client was made with, as the real service sees the signature.
    const sts = mockClient(STSClient);
    sts.onAnyCommand().rejects(new Error('the STS fake does not implement this command'));
    sts.on(GetCallerIdentityCommand).callsFake(async (_input: unknown, getClient: () => STSClient) => {
      const config = getClient().config;
      const creds = await config.credentials();
      return iam.callerIdentity(creds, await config.region());
    });
    undo.push(
      () => mock.restore(),
      () => sts.restore(),
    );
  }
  return () => undo.forEach((u) => u());
}
