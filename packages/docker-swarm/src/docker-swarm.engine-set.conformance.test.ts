import { describeConformance } from "@keyhole/conformance/vitest";
import { provisionedEngineSets } from "@keyhole/core";
import { dockerSwarmBackend } from "./index.js";

// The same catalogue against the other Debian release's dockerd and its one-node swarm (an
// engine set provisioned by `node scripts/setup.mjs`; scripts/engine-set.test.mjs fails
// loudly when it is missing).
for (const set of provisionedEngineSets()) {
  const engine = set.docker!;
  describeConformance(
    () =>
      dockerSwarmBackend({
        socketPath: engine.socketPath,
        cli: engine.cli,
        storage: engine.storage,
      }),
    { name: `docker-swarm on ${set.name} (docker ${engine.version}) conformance` },
  );
}
