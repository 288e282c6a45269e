import { InvalidInputError, type SecretBackend } from "@keyhole/core";
import { dockerBackend } from "@keyhole/docker";
import { dockerSwarmBackend } from "@keyhole/docker-swarm";
import { podmanFileBackend, podmanPassBackend } from "@keyhole/podman";

/** The backends this app can run on, by id; each import is what a user of keyhole writes. */
export const BACKENDS: Readonly<Record<string, () => SecretBackend>> = {
  "podman-file": () => podmanFileBackend(),
  "podman-pass": () => podmanPassBackend(),
  "docker-swarm": () => dockerSwarmBackend(),
  docker: () => dockerBackend(),
};

/** Creates the backend `id`; an unknown id is `INVALID_INPUT` naming the known ones. */
export function createBackend(id: string): SecretBackend {
  const make = BACKENDS[id];
  if (!make) {
    throw new InvalidInputError(
      "runner-registration",
      `Unknown backend ${JSON.stringify(id)}. Use --backend ${Object.keys(BACKENDS).join(" | ")}.`,
    );
  }
  return make();
}
