// Secrets Manager clients, one per region, made on first use, always with rotor's redacting logger.
// Shared by the aws-secrets-manager store and the `aws-sm:` reference reader.
import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { silentLogger, type Logger } from '../log.js';
import { sdkLogger } from './sdk-logger.js';

export interface SecretsManagerClientsOptions {
  /** Where the SDK's own log lines go (debug level, redacted). @defaultValue silent */
  log?: Logger | undefined;
  /**
   * Extra client configuration (tests pass a request handler or credentials). Region, endpoint and
   * credentials otherwise come from the SDK's default chain: AWS_REGION, AWS_ENDPOINT_URL or
   * AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_PROFILE, the instance or task role.
   */
  clientConfig?: Omit<SecretsManagerClientConfig, 'logger' | 'region'> | undefined;
}

/** The client for a region (undefined: the SDK's default chain), made once per region. */
export function secretsManagerClients(opts: SecretsManagerClientsOptions = {}): (region: string | undefined) => SecretsManagerClient {
  const clients = new Map<string, SecretsManagerClient>();
  return (region) => {
    let client = clients.get(region ?? '');
    if (!client) {
      client = new SecretsManagerClient({
        ...opts.clientConfig,
        ...(region ? { region } : {}),
        logger: sdkLogger(opts.log ?? silentLogger, 'secretsmanager'),
      });
      clients.set(region ?? '', client);
    }
    return client;
  };
}
