// A process that holds a live docker backend (a secret and a running workload) until it is
// interrupted; interrupt.test.ts bundles it, runs it, and sends it SIGINT.
import { randomBytes } from "node:crypto";
import { dockerBackend } from "./index.js";

const image = process.argv[2];
if (!image) throw new Error("usage: child.mjs <image>");
const backend = dockerBackend();
const secret = await backend.createSecret("sigint", `sigint-${randomBytes(8).toString("hex")}`);
const w = await backend.run({
  image,
  command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
  secrets: [
    { secret, as: "file", uid: 2000, gid: 2000, mode: 0o400 },
    { secret, as: "env", name: "SIGINT_TOKEN" },
  ],
});
process.stdout.write(`${JSON.stringify({ runId: backend.runId, containerId: w.containerId })}\n`);
setInterval(() => {}, 60_000);
