// Integration tests write env files under the system's temporary directory (mkdtemp), which is
// outside rotor's default ROTOR_ENV_FILE_ROOT (the working directory): they allow it, as an
// operator would. Worker processes the tests spawn inherit it. test/unit/policy/trust.test.ts
// holds the default.
import { tmpdir } from 'node:os';

process.env.ROTOR_ENV_FILE_ROOT ??= tmpdir();
