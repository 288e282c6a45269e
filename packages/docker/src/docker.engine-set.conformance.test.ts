import { describeConformance } from "@keyhole/conformance/vitest";
import { provisionedEngineSets } from "@keyhole/core";
import { dockerBackend } from "./index.js";

// The same catalogue against the other Debian release's dockerd (an engine set provisioned by
// `node scripts/setup.mjs`; scripts/engine-set.test.mjs fails loudly when it is missing). Its
// own file: testcontainers binds one Docker endpoint per process.
for (const set of provisionedEngineSets()) {
  const engine = set.docker!;
  describeConformance(
    () =>
      dockerBackend({ socketPath: engine.socketPath, cli: engine.cli, storage: engine.storage }),
    { name: `docker on ${set.name} (docker ${engine.version}) conformance` },
  );
}
