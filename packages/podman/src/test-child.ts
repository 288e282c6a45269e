// A child process for the interruption tests (not shipped: tsconfig.build.json excludes
// src/**/test-*.ts). It creates a secret and a workload with the backend named in argv[2]
// on the image in argv[3], prints its run id, and idles until it is signalled.
import { podmanFileBackend, podmanPassBackend } from "./index.js";

const backend = process.argv[2] === "pass" ? podmanPassBackend() : podmanFileBackend();
const image = process.argv[3] ?? "";
const secret = await backend.createSecret(`kh-int-${backend.runId}`, "interrupted");
await backend.run({
  image,
  command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
  secrets: [{ secret, as: "file" }],
});
process.stdout.write(
  `${JSON.stringify({ runId: backend.runId, socket: backend.engine.endpoint?.replace("unix://", "") })}\n`,
);
// "exit": leave without disposing (the exit hook must still stop the service and its directory).
if (process.argv[4] === "exit") process.exit(0);
setInterval(() => {}, 60_000);
