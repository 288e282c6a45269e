import { describeConformance } from "@keyhole/conformance/vitest";
import { composeEnvBackend, composeFileBackend, engineSetComposeOptions } from "./index.js";

// The conformance catalogue against both Compose v2 backends on the Debian 13 engine set
// (provisioned by `node scripts/setup.mjs`), one test per check named by its id. No set, no
// Compose v2: every test fails with the fix (never a silent skip).
describeConformance(() => composeFileBackend(engineSetComposeOptions()), {
  name: "compose-file conformance",
});
describeConformance(() => composeEnvBackend(engineSetComposeOptions()), {
  name: "compose-env conformance",
});
