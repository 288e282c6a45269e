import type { SecretBackend } from "@keyhole/core";
import { dockerBackend } from "@keyhole/docker";
import { dockerSwarmBackend } from "@keyhole/docker-swarm";
import { podmanFileBackend, podmanPassBackend } from "@keyhole/podman";
import type { BenchImages, EngineKind } from "./engines.js";

/** A backend under benchmark: how to make it, which engine it runs on, which image it takes. */
export interface BenchBackend {
  id: string;
  engine: EngineKind;
  /** Per-operation target: adapter time ÷ bare CLI time must stay at or below this. */
  target: number;
  make(): SecretBackend;
  image(images: BenchImages): string;
}

/**
 * Every backend the bench knows, in report order. Targets from issue 15: Podman ≤ 0.5 (the
 * adapter talks to one long-lived API service instead of starting a CLI process per call),
 * the others ≤ 0.8.
 */
export function benchBackends(): BenchBackend[] {
  return [
    {
      id: "podman-file",
      engine: "podman",
      target: 0.5,
      make: () => podmanFileBackend(),
      image: (i) => i.podman,
    },
    {
      id: "podman-pass",
      engine: "podman",
      target: 0.5,
      make: () => podmanPassBackend(),
      image: (i) => i.podman,
    },
    {
      id: "docker-swarm",
      engine: "swarm",
      target: 0.8,
      make: () => dockerSwarmBackend(),
      image: (i) => i.docker,
    },
    {
      id: "docker",
      engine: "docker",
      target: 0.8,
      make: () => dockerBackend(),
      image: (i) => i.docker,
    },
  ];
}
