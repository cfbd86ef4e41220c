// Routes every SecretsManagerClient and RDSClient in this process to the fakes, with
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
import { mockClient } from 'aws-sdk-client-mock';
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

/** Installs the fakes; returns the undo. Commands the fakes do not know fail loudly. */
export function installAwsFakes(fakes: { sm?: FakeSecretsManager; rds?: FakeRds }): () => void {
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
  return () => undo.forEach((u) => u());
}
