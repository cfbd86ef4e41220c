// Types of the example API key service, for TypeScript callers (rotor's own tests).
export interface ApiKeyService {
  port: number;
  url: string;
  keyCount(): number;
  close(): Promise<void>;
}

export function startApiKeyService(opts: { adminToken: string; port?: number }): Promise<ApiKeyService>;
