#!/usr/bin/env node
// runner-registration --backend podman-file --token-file /etc/runner/registration-token
import { parseArgs } from "node:util";
import { isKeyholeError } from "@keyhole/core";
import { ensureProbeImage } from "@keyhole/probe";
import { BACKENDS, createBackend } from "./backends.js";
import { registerRunner, type Strategy } from "./register-runner.js";
import { readTokenFile } from "./token-file.js";

const USAGE = `Usage: runner-registration --token-file FILE [--backend ${Object.keys(BACKENDS).join("|")}] [--strategy auto|read-once|scrub|separate-init] [--url URL] [--name NAME]`;

async function main(): Promise<number> {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      options: {
        backend: { type: "string", default: "podman-file" },
        "token-file": { type: "string" },
        strategy: { type: "string", default: "auto" },
        url: { type: "string" },
        name: { type: "string" },
      },
      strict: true,
    }).values as Record<string, string | undefined>;
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const tokenFile = values["token-file"];
  const strategy = values.strategy as Strategy;
  if (!tokenFile || !["auto", "read-once", "scrub", "separate-init"].includes(strategy)) {
    console.error(USAGE);
    return 2;
  }
  const token = await readTokenFile(tokenFile);
  await using backend = createBackend(values.backend ?? "podman-file");
  await backend.ready();
  const image = await ensureProbeImage(backend.engine.kind === "podman" ? "podman" : "docker");
  const r = await registerRunner({
    backend,
    token,
    image,
    strategy,
    ...(values.url ? { url: values.url } : {}),
    ...(values.name ? { name: values.name } : {}),
  });
  console.log(`backend:            ${r.backendId} (strategy: ${r.strategy})`);
  console.log(`init step (root):   ${r.registered}; token fed on stdin`);
  console.log(
    `ps, watched by bob: ${r.psSnapshots} snapshots, register ${r.registerSeenInPs ? "seen" : "NOT seen"}, token ${r.tokenSeenInPs ? "SEEN" : "never shown"}`,
  );
  console.log(
    `token file:         ${r.scrubbed ? "scrubbed in place" : "only in the removed init container"}; ${r.tokenLeftInFile ? "STILL HOLDS THE TOKEN" : "no token bytes left"}`,
  );
  console.log(
    `job:                ${r.job.user}; ${r.job.hasCredentials ? "has its runner credentials" : "NO CREDENTIALS"}`,
  );
  console.log(
    `token seen by job:  ${r.job.tokenFoundIn.length === 0 ? "nowhere (file, env, /proc/1/environ, /proc/self/environ, ps)" : `IN ${r.job.tokenFoundIn.join(", ")}`}`,
  );
  const ok =
    r.job.hasCredentials &&
    r.job.tokenFoundIn.length === 0 &&
    !r.tokenSeenInPs &&
    !r.tokenLeftInFile;
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(isKeyholeError(error) ? error.message : error);
    // The same codes as `keyhole`: 2 for bad input (e.g. a token file others can read), 3 when
    // the engine is not available, 1 otherwise.
    const code = isKeyholeError(error, "INVALID_INPUT")
      ? 2
      : isKeyholeError(error, "ENGINE_UNAVAILABLE")
        ? 3
        : 1;
    process.exit(code);
  },
);
