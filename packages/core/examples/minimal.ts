// What every keyhole backend does before and around engine calls, shown without an engine:
// input is checked first, errors carry a stable code and say what to do next, and a registered
// secret value never reaches an error message or a log line.
import {
  EngineError,
  isKeyholeError,
  redact,
  registerSecretValue,
  validateMode,
  validateSecretName,
} from "@keyhole/core";

for (const check of [
  () => validateSecretName("my-backend", "../../etc/shadow"),
  () => validateMode("my-backend", "0400"), // a string, not the octal literal 0o400
]) {
  try {
    check();
  } catch (error) {
    if (isKeyholeError(error, "INVALID_INPUT")) console.log(`${error.code}: ${error.message}`);
  }
}

const token = "glrt-example-token";
const forget = registerSecretValue(token); // adapters do this in createSecret
console.log(redact(`git clone https://ci:${token}@git.example.com/app.git`));

// An engine that echoes the value in its refusal: the typed error redacts message and cause.
const refusal = new Error(`secret "runner" rejected: value ${token} fails the policy`);
const error = new EngineError("my-backend", "The engine refused the secret. See its reason.", {
  cause: refusal,
});
console.log(`${error.code}: ${(error.cause as Error).message}`);
forget();
