// The AWS SDK's warning that its next releases need a newer Node: said once by rotor, as its own
// warning at start, instead of by the SDK in every process that makes a client (28 times in one
// test run). The SDK reads AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED before it warns.

/** The variable @aws-sdk/core checks before it calls process.emitWarning. */
export const SDK_WARNING_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
/** The Node major the SDK's releases after the first week of January 2027 require. */
export const SDK_NODE_MAJOR = 22;

let silencedByOperator = false;

/**
 * Stops the SDK's own warning in this process and its children. Call before any client is made.
 * Remembers whether the switch was already on (the operator's or the tests' choice): then rotor
 * says nothing either.
 */
export function takeOverSdkNodeWarning(env: NodeJS.ProcessEnv = process.env): void {
  silencedByOperator = env[SDK_WARNING_SWITCH] === 'true';
  env[SDK_WARNING_SWITCH] = 'true';
}

/** rotor's one-line version of the warning, or null when Node is new enough or it was silenced. */
export function sdkNodeWarning(version: string = process.version): string | null {
  if (silencedByOperator) return null;
  const major = Number.parseInt(version.replace(/^v/, ''), 10);
  if (!(major < SDK_NODE_MAJOR)) return null;
  return `Node ${version}: AWS SDK releases after the first week of January 2027 need Node >= ${SDK_NODE_MAJOR}; rotor works today, upgrade Node to keep receiving SDK fixes (${SDK_WARNING_SWITCH}=true hides this)`;
}
