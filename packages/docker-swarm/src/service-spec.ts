import { type NormalizedRunSpec, onceGatedCommand, onceTmpfsDirs } from "@keyhole/core";
import type Dockerode from "dockerode";

/** What {@link buildServiceSpec} needs besides the validated run spec. */
export interface ServiceSpecInput {
  /** The service name (unique per run, e.g. `keyhole-<runId>-1`). */
  name: string;
  /** The image id, `sha256:…`. A tag would make the task try a registry pull first. */
  imageId: string;
  /** The validated run spec. */
  run: NormalizedRunSpec;
  /** Labels for the service and its containers (ownership labels included). */
  labels: Record<string, string>;
  /** Placement constraints, e.g. `["node.id==abc", "node.role==worker"]`. Default none. */
  constraints?: readonly string[];
  /**
   * The argv the task would run (image entrypoint + command, or the run's command); needed
   * only when the run has read-once deliveries, whose gate runs it once the FIFOs exist.
   */
  argv?: readonly string[];
}

/** `DAC_OVERRIDE` → `CAP_DAC_OVERRIDE`: the form the service spec stores and the engine expects. */
export function capName(cap: string): string {
  const upper = cap.toUpperCase();
  return upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
}

/**
 * Builds the Swarm service spec for one workload: one replica that is never restarted, the image
 * by id, file deliveries as secret references `File{Name, UID, GID, Mode}` (UID/GID as strings,
 * as the API wants), cap-drop/add, a zero stop grace period and no published ports.
 *
 * Swarm services cannot join the `none` network; without `Networks` and ports the task gets no
 * swarm network attachment and nothing reaches it from outside.
 */
export function buildServiceSpec(input: ServiceSpecInput): Dockerode.CreateServiceOptions {
  const { spec, files } = input.run;
  const containerSpec: Dockerode.ContainerSpec = {
    Image: input.imageId,
    Labels: input.labels,
    // Zero so stop/remove never waits the default 10 s for a PID 1 that ignores SIGTERM.
    StopGracePeriod: 0,
    Secrets: files.map((f) => ({
      SecretID: f.secret.id,
      SecretName: f.secret.name,
      File: {
        Name: f.target,
        UID: String(f.uid ?? 0),
        GID: String(f.gid ?? 0),
        Mode: f.mode ?? 0o444,
      },
    })),
  };
  const onceDirs = onceTmpfsDirs(input.run.once);
  if (onceDirs.length > 0) {
    // Read-once FIFOs live on tmpfs mounts the spec declares, never on the secrets tmpfs; PID 1
    // waits for them (the writer gets there by exec after the task started).
    containerSpec.Mounts = onceDirs.map((Target) => ({
      Type: "tmpfs" as const,
      Source: "",
      Target,
      TmpfsOptions: { SizeBytes: 65_536, Mode: 0o755 },
    }));
    const gated = onceGatedCommand(onceDirs, input.argv ?? []);
    containerSpec.Command = gated.entrypoint;
    containerSpec.Args = gated.command;
  } else if (spec.command !== undefined) containerSpec.Command = [...spec.command];
  if (spec.user !== undefined) containerSpec.User = spec.user;
  if (spec.env !== undefined) {
    containerSpec.Env = Object.entries(spec.env).map(([k, v]) => `${k}=${v}`);
  }
  if (spec.capDrop?.length) containerSpec.CapabilityDrop = spec.capDrop.map(capName);
  if (spec.capAdd?.length) containerSpec.CapabilityAdd = spec.capAdd.map(capName);
  return {
    Name: input.name,
    Labels: input.labels,
    TaskTemplate: {
      ContainerSpec: containerSpec,
      RestartPolicy: { Condition: "none", MaxAttempts: 0 },
      ...(input.constraints?.length ? { Placement: { Constraints: [...input.constraints] } } : {}),
    },
    Mode: { Replicated: { Replicas: 1 } },
  };
}
