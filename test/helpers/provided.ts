// What the integration project's globalSetup hands to test files (vitest provide/inject).

/** The private PostgreSQL server of this run; `user` is its superuser, authenticated by scram-sha-256. */
export interface PostgresFacts {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** The private redis-server of this run, shared by all test files (each uses its own prefix). */
export interface RedisFacts {
  host: string;
  port: number;
}

declare module 'vitest' {
  interface ProvidedContext {
    rotorTestPostgres: PostgresFacts;
    rotorTestRedis: RedisFacts;
    /** Where test files leave the secret values they tracked, for the end-of-run Redis scan. */
    rotorTestLeakDir: string;
  }
}
