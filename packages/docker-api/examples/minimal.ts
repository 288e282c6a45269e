// The Docker Engine API the way keyhole's Docker adapters use it: find the engine like the
// Docker CLI does, run a command in a container with a value on stdin (never in an argv), and
// turn an engine error into a typed error that says what to do.
import { KEYHOLE_LABEL, KEYHOLE_RUN_LABEL, newRunId } from "@keyhole/core";
import {
  dockerClient,
  execInContainer,
  resolveDockerEndpoint,
  toKeyholeError,
} from "@keyhole/docker-api";
import { ensureProbeImage } from "@keyhole/probe";

// DOCKER_HOST (unix:// or tcp://), DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, else the local socket.
const endpoint = resolveDockerEndpoint("my-backend");
const docker = dockerClient("my-backend", endpoint);
console.log(`${endpoint.kind} endpoint, Docker ${(await docker.version()).Version}`);

const container = await docker.createContainer({
  Image: await ensureProbeImage("docker"), // a local image; nothing is pulled
  Cmd: ["sleep", "300"],
  Labels: { [KEYHOLE_LABEL]: "true", [KEYHOLE_RUN_LABEL]: newRunId() }, // so `keyhole gc` finds it
  HostConfig: { NetworkMode: "none" },
});
try {
  await container.start();
  const target = {
    docker,
    containerId: container.id,
    backendId: "my-backend",
    endpoint: endpoint.endpoint,
  };
  const r = await execInContainer(target, ["sh", "-c", "wc -c; id -un >&2"], {
    stdin: "glrt-example-token",
    user: "alice",
  });
  console.log(`exit ${r.exitCode}, stdout ${r.stdout.trim()}, stderr ${r.stderr.trim()}`);
} finally {
  await container.remove({ force: true });
}

try {
  await docker.getContainer(container.id).inspect();
} catch (error) {
  const e = toKeyholeError("my-backend", endpoint.endpoint, "inspect the container", error);
  console.log(`${e.code}: ${e.message.replace(container.id, "<id>")}`);
}
