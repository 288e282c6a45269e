// A runner token as a Swarm secret, delivered as a file that only its owner, alice (uid 2000),
// can read. The value reaches the engine only in the body of the API request that creates it.
import { dockerSwarmBackend } from "@keyhole/docker-swarm";
import { ensureProbeImage } from "@keyhole/probe";

await using backend = dockerSwarmBackend(); // DOCKER_HOST (unix://) or /var/run/docker.sock
await backend.ready(); // ENGINE_UNAVAILABLE with the fix when dockerd or the swarm is missing

// Secret names are global to the swarm: the run id keeps concurrent runs apart.
const token = await backend.createSecret(`runner-token-${backend.runId}`, "glrt-example-token");
const workload = await backend.run({
  image: await ensureProbeImage("docker"), // a local image; keyhole never pulls
  command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
  capDrop: ["DAC_OVERRIDE"], // so not even root can bypass the file's mode
  secrets: [
    { secret: token, as: "file", target: "runner-token", uid: 2000, gid: 2000, mode: 0o400 },
  ],
});

const alice = await workload.exec(["cat", "/run/secrets/runner-token"], { user: "alice" });
console.log(`alice (uid 2000, the owner) reads ${alice.stdout.length} bytes`);
const bob = await workload.exec(["cat", "/run/secrets/runner-token"], { user: "bob" });
console.log(`bob (uid 3000) reads: ${bob.stderr.trim()}`);
console.log(
  `run ${backend.runId}: its service and secret are removed when the backend is disposed`,
);
