import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { newRunId, type SecretBackend } from "@keyhole/core";
import { ensureProbeImage } from "@keyhole/probe";
import { benchBackends } from "./backends.js";
import { PID1, READER_UID } from "./engines.js";
import { fmtMs, fmtRatio, median } from "./stats.js";

// Read-once vs a plain file delivery on the same backend, as the user feels it: from the first
// call to the end of the first read. File: createSecret → run (uid/gid 2000, 0400) → `cat` as
// uid 2000. Read-once: run with { once: true } (no createSecret: the value never reaches the
// engine's store) → `cat` as uid 2000 of the FIFO. Teardown (stop, removeSecret) is untimed on
// both sides. Rounds interleave A/B, B/A. Target (issue 13): read-once ≤ 1.2 × file.
//
//   node bench/dist/read-once.js [--rounds N] [--backend id,...]

const TARGET = 1.2;

async function fileRun(backend: SecretBackend, image: string, name: string, value: string) {
  const t0 = performance.now();
  const secret = await backend.createSecret(name, value);
  const w = await backend.run({
    image,
    command: PID1,
    secrets: [{ secret, as: "file", uid: READER_UID, gid: READER_UID, mode: 0o400 }],
  });
  const r = await w.exec(["cat", `/run/secrets/${name}`], { user: String(READER_UID) });
  const ms = performance.now() - t0;
  if (r.stdout !== value) throw new Error(`file read failed: exit ${r.exitCode} ${r.stderr}`);
  await w.stop();
  await backend.removeSecret(secret);
  return ms;
}

async function onceRun(backend: SecretBackend, image: string, value: string) {
  const t0 = performance.now();
  const w = await backend.run({
    image,
    command: PID1,
    secrets: [
      {
        as: "file",
        once: true,
        value,
        target: "token",
        uid: READER_UID,
        gid: READER_UID,
        mode: 0o400,
      },
    ],
  });
  const r = await w.exec(["cat", "/run/keyhole-once/token"], { user: String(READER_UID) });
  const ms = performance.now() - t0;
  if (r.stdout !== value) throw new Error(`read-once read failed: exit ${r.exitCode} ${r.stderr}`);
  await w.consumed?.("token");
  await w.stop();
  return ms;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const rounds = Number(at("--rounds") ?? 7);
  const only = at("--backend")?.split(",");
  const docker = await ensureProbeImage("docker");
  const images = { podman: await ensureProbeImage("podman"), docker, dockerId: docker };
  const runId = newRunId();
  const lines = [
    `# Read-once vs plain file delivery (${new Date().toISOString()})`,
    "",
    `create → run → first read as uid 2000, median of ${rounds} interleaved rounds after one warm-up; target ≤ ${TARGET}×.`,
    "",
    "| backend | file (median) | read-once (median) | ratio of medians | per-round ratios | target met |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  const json: unknown[] = [];
  for (const subject of benchBackends().filter((b) => !only || only.includes(b.id))) {
    const backend = subject.make();
    const image = subject.image(images);
    let n = 0;
    const name = () => `khbench-${runId}-ro${n++}`;
    const value = () => `bench-value-${Math.random().toString(36).slice(2)}`;
    try {
      await backend.ready();
      await fileRun(backend, image, name(), value());
      await onceRun(backend, image, value());
      const file: number[] = [];
      const once: number[] = [];
      for (let i = 0; i < rounds; i++) {
        if (i % 2 === 0) {
          file.push(await fileRun(backend, image, name(), value()));
          once.push(await onceRun(backend, image, value()));
        } else {
          once.push(await onceRun(backend, image, value()));
          file.push(await fileRun(backend, image, name(), value()));
        }
        process.stderr.write(
          `[read-once] ${subject.id} round ${i + 1}/${rounds}: file ${fmtMs(file[i]!)}, read-once ${fmtMs(once[i]!)}\n`,
        );
      }
      const ratio = median(once) / median(file);
      const per = once.map((o, i) => o / file[i]!);
      lines.push(
        `| ${subject.id} | ${fmtMs(median(file))} | ${fmtMs(median(once))} | ${fmtRatio(ratio)} | ${per.map(fmtRatio).join(" ")} | ${ratio <= TARGET ? "yes" : "**no**"} |`,
      );
      json.push({ backend: subject.id, file, once, ratioOfMedians: ratio });
    } catch (error) {
      lines.push(
        `| ${subject.id} | failed: ${error instanceof Error ? error.message : String(error)} | | | | |`,
      );
    } finally {
      await backend.dispose();
    }
  }
  const text = `${lines.join("\n")}\n`;
  process.stdout.write(text);
  const dir = join(import.meta.dirname, "..", "results");
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().slice(0, 10);
  writeFileSync(join(dir, `${stamp}-read-once.md`), text);
  writeFileSync(join(dir, `${stamp}-read-once.json`), `${JSON.stringify(json, null, 2)}\n`);
}

await main();
