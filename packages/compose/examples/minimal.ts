// One password delivered by Compose v2 from each source a compose file can name, on keyhole's
// Debian 13 engine set (`node scripts/engine-set.mjs up`). `file:` shows the host copy's owner
// and mode whatever you ask; `environment:` honours uid/gid/mode.
import { composeEnvBackend, composeFileBackend, engineSetComposeOptions } from "@keyhole/compose";
import { ensureProbeImageInfo } from "@keyhole/probe";

const options = engineSetComposeOptions();
const env = { ...process.env, DOCKER_HOST: `unix://${options.socketPath}` };
const { id: image } = await ensureProbeImageInfo("docker", { env });
const command = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"];
const stat = ["stat", "-c", "%u:%g %a", "/run/secrets/db-password"];

await using fromFile = composeFileBackend(options);
const a = await fromFile.createSecret("db-password", "example-password");
const w1 = await fromFile.run({ image, command, secrets: [{ secret: a, as: "file" }] });
console.log(
  `file: ${(await w1.exec(stat)).stdout.trim()} (a read-only bind of the 0600 host copy)`,
);

await using fromEnv = composeEnvBackend(options);
const b = await fromEnv.createSecret("db-password", "example-password");
const w2 = await fromEnv.run({
  image,
  command,
  secrets: [{ secret: b, as: "file", uid: 2000, gid: 2000, mode: 0o400 }],
});
console.log(`environment: ${(await w2.exec(stat)).stdout.trim()} (copied in, as asked)`);
const bob = await w2.exec(["cat", "/run/secrets/db-password"], { user: "bob" });
console.log(`bob (uid 3000): ${bob.stderr.trim()}`);
console.log(`runs ${fromFile.runId} ${fromEnv.runId}: projects and private dirs go on dispose`);
