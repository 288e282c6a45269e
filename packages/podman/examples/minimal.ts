// A CI runner's registration token, delivered as a file only root can read, used once by the
// init step, then scrubbed, on Podman's file driver. Everything is removed at the end.
import { podmanFileBackend } from "@keyhole/podman";
import { ensureProbeImage } from "@keyhole/probe";

await using backend = podmanFileBackend();
const token = await backend.createSecret(`runner-token-${backend.runId}`, "glrt-example-token");
const workload = await backend.run({
  image: await ensureProbeImage("podman"),
  command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
  capDrop: ["DAC_OVERRIDE"], // so not even root can bypass the file's mode
  secrets: [{ secret: token, as: "file", target: "runner-token", mode: 0o600, scrub: true }],
});

// The init step reads the token through stdin, so it never shows up in `ps`.
const init = await workload.exec(["sh", "-c", "wc -c < /run/secrets/runner-token"]);
console.log(`registered with a ${init.stdout.trim()}-byte token`);

await workload.scrub("runner-token");
const bob = await workload.exec(["cat", "/run/secrets/runner-token"], { user: "bob" });
console.log(`bob (uid 3000) reads: ${bob.stderr.trim()}`);
const root = await workload.exec(["cat", "/run/secrets/runner-token"]);
console.log(`after the scrub, root reads ${root.stdout.length} bytes`);
