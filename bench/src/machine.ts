import { cpus, loadavg, release, totalmem } from "node:os";
import { podmanEnv } from "@keyhole/core";
import { runCommand } from "./command.js";
import { DOCKER } from "./engines.js";

/** The machine a result was measured on. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  podman: string;
  docker: string;
  swarm: string;
  runc: string;
  /** 1-minute load average when the bench started (the machine is shared: read ratios, not times). */
  loadAtStart: number;
}

/** Collects {@link MachineInfo}; an engine that does not answer is reported as such. */
export async function machineInfo(): Promise<MachineInfo> {
  const version = async (bin: string, args: string[], env?: NodeJS.ProcessEnv) => {
    const r = await runCommand(bin, args, { env: env ?? process.env, check: false }).catch(
      () => undefined,
    );
    return r && r.code === 0 ? r.stdout.trim().split("\n")[0]! : "unavailable";
  };
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    podman: await version("podman", ["version", "--format", "{{.Client.Version}}"], podmanEnv()),
    docker: await version(DOCKER, ["version", "--format", "{{.Server.Version}}"]),
    swarm: await version(DOCKER, ["info", "--format", "{{.Swarm.LocalNodeState}}"]),
    runc: await version("runc", ["--version"]),
    loadAtStart: Math.round(loadavg()[0]! * 100) / 100,
  };
}
