#!/usr/bin/env node
// keyhole-probe [podman|docker|all]: loads the probe image into the engine(s), prints the reference.
import { isKeyholeError } from "@keyhole/core";
import { ensureProbeImage, type ProbeEngine } from "./ensure-probe-image.js";

const arg = process.argv[2] ?? "all";
const engines: ProbeEngine[] =
  arg === "all" ? ["podman", "docker"] : arg === "podman" || arg === "docker" ? [arg] : [];

if (engines.length === 0) {
  process.stderr.write("usage: keyhole-probe [podman|docker|all]\n");
  process.exit(2);
}

try {
  for (const engine of engines) {
    process.stdout.write(`${engine} ${await ensureProbeImage(engine)}\n`);
  }
} catch (error) {
  process.stderr.write(`${isKeyholeError(error) ? error.message : String(error)}\n`);
  process.exit(1);
}
