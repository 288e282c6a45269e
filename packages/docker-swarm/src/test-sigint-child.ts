// Test fixture (not shipped): a process with a live Swarm backend that waits for Ctrl-C.
import { dockerSwarmBackend } from "./index.js";

const runId = process.env.KEYHOLE_TEST_RUN_ID!;
const backend = dockerSwarmBackend({ runId });
const secret = await backend.createSecret(`sigint-${runId}`, "sigint-child-value");
await backend.run({
  image: process.env.KEYHOLE_TEST_IMAGE!,
  command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
  secrets: [{ secret, as: "file" }],
});
process.stdout.write("running\n");
setInterval(() => {}, 60_000);
