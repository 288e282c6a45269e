// The baseline most people use today: one token as an environment variable and as a file on
// plain Docker. Any uid in the container reads the variable; only the file's owner reads the file.
import { dockerBackend } from "@keyhole/docker";
import { ensureProbeImage } from "@keyhole/probe";

await using backend = dockerBackend();
const token = await backend.createSecret("runner-token", "glrt-example-token");
const workload = await backend.run({
  image: await ensureProbeImage("docker"),
  command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
  capDrop: ["DAC_OVERRIDE"], // so not even root can bypass the file's mode
  secrets: [
    { secret: token, as: "env", name: "RUNNER_TOKEN" },
    { secret: token, as: "file", uid: 2000, gid: 2000, mode: 0o400 },
  ],
});

const env = await workload.exec(["sh", "-c", 'printf %s "$RUNNER_TOKEN" | wc -c'], { user: "bob" });
console.log(`bob (uid 3000) reads the variable: ${env.stdout.trim()} bytes`);
const file = await workload.exec(["cat", "/run/secrets/runner-token"], { user: "bob" });
console.log(`bob reads the file: ${file.stderr.trim()}`);
const alice = await workload.exec(["wc", "-c", "/run/secrets/runner-token"], { user: "alice" });
console.log(`alice (uid 2000, the owner) reads ${alice.stdout.trim().split(" ")[0]} bytes`);
console.log(`run ${backend.runId}: its container is removed when the backend is disposed`);
