#!/usr/bin/env node
// The other Debian release's engines beside the host's (see lib/engine-set.mjs):
//
//   node scripts/engine-set.mjs up       provision (cached) and start; loads the probe image
//   node scripts/engine-set.mjs status   change nothing; exit 0 only when the set is ready
//   node scripts/engine-set.mjs down     stop it: processes, netns, mounts, cgroups (safe twice)
//   node scripts/engine-set.mjs remove   down, then delete the tree and its state
//
// `--suite bookworm|trixie` picks a set; default: the release that is not the host's.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { downSet, otherSuite, removeSet, setStatus, upSet } from "./lib/engine-set.mjs";
import { SetupError, say } from "./lib/report.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The probe archive from the built @keyhole/probe, or undefined when it is not built yet. */
export async function probeArchive() {
  const dist = join(ROOT, "packages", "probe", "dist", "index.js");
  if (!existsSync(dist)) return undefined;
  const probe = await import(pathToFileURL(dist).href);
  return probe.buildProbeArchive();
}

async function main(argv) {
  const command = argv[0] ?? "status";
  const i = argv.indexOf("--suite");
  const suite = i >= 0 ? argv[i + 1] : otherSuite();
  const log = (step, text) => say("engine-set", step, text);
  if (command === "up") {
    const probe = await probeArchive();
    if (!probe)
      log(
        "probe image",
        "@keyhole/probe is not built; not loading it (node scripts/setup.mjs does)",
      );
    const info = await upSet({ suite, log, probe });
    const t = info.timings;
    log(
      "up",
      `${suite} ready in ${(t.total / 1000).toFixed(1)} s (debootstrap ${(t.debootstrap / 1000).toFixed(1)} s, packages ${(t.packages / 1000).toFixed(1)} s, engines ${(t.engines / 1000).toFixed(1)} s, probe ${(t.probe / 1000).toFixed(1)} s): podman ${info.podman.version}, docker ${info.docker.version}`,
    );
    return 0;
  }
  if (command === "down") {
    await downSet({ suite, log });
    return 0;
  }
  if (command === "remove") {
    await removeSet({ suite, log });
    return 0;
  }
  if (command === "status") {
    const s = await setStatus(suite);
    process.stdout.write(`engine set ${suite}  ${s.state}  ${s.detail}\n`);
    if (s.fix && s.state !== "ready") process.stdout.write(`  fix: ${s.fix}\n`);
    return s.state === "ready" ? 0 : 1;
  }
  throw new SetupError(
    `unknown command ${command}`,
    "node scripts/engine-set.mjs up|down|status|remove",
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(
        `[engine-set] failed: ${error instanceof SetupError ? error.message : error.stack}\n`,
      );
      process.exit(1);
    },
  );
}
