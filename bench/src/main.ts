// `npm run bench`: the three benchmarks of bench/README.md, one after another, progress on
// stderr, results to bench/results/<date>.md and .json. Never part of `npm test`.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { newRunId, registerCleanup } from "@keyhole/core";
import { ensureProbeImageInfo } from "@keyhole/probe";
import { type BenchBackend, benchBackends } from "./backends.js";
import {
  type BareSequence,
  type BenchImages,
  bareDocker,
  barePodman,
  barePodmanPass,
  bareSwarm,
} from "./engines.js";
import { floorRatio } from "./floor.js";
import { DEFAULT_BASELINE, HEADLINE_BACKENDS, headline } from "./headline.js";
import { installInstrumentation, resetSpans } from "./instrument.js";
import { machineInfo } from "./machine.js";
import { perOperation } from "./per-op.js";
import { type BenchResult, renderMarkdown } from "./report.js";
import { SECRET_COUNTS, scaling, WORKLOAD_COUNTS } from "./scaling.js";
import { fmtMs } from "./stats.js";

const USAGE = `npm run bench [-- options]

  --only LIST           headline,floor,per-op,scaling (default: all four)
  --backend LIST        podman-file,podman-pass,docker-swarm,docker (default: all)
  --rounds N            per-operation rounds after one warm-up (default 5)
  --start-rounds N      bare starts per engine before and after compare (default 5)
  --compare-rounds N    keyhole compare runs (default 1)
  --baseline COMMIT     the "before" of the headline (default ${DEFAULT_BASELINE})
  --headline-rounds N   headline compares per side, interleaved (default 3)
  --no-alone            skip the extra \`keyhole compare --backend <id>\` run of each backend
  --secrets LIST        secret counts for scaling (default 1,10,100)
  --workloads LIST      concurrent workload counts for scaling (default 1,5,20)
  --out DIR             where results go (default bench/results)
  --name STEM           file name stem (default: today's date, YYYY-MM-DD)
`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: "string" },
      backend: { type: "string" },
      rounds: { type: "string", default: "5" },
      "start-rounds": { type: "string", default: "5" },
      "compare-rounds": { type: "string", default: "1" },
      baseline: { type: "string", default: DEFAULT_BASELINE },
      "headline-rounds": { type: "string", default: "3" },
      "no-alone": { type: "boolean", default: false },
      secrets: { type: "string" },
      workloads: { type: "string" },
      out: { type: "string" },
      name: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  installInstrumentation();
  const list = (s: string | undefined) =>
    s
      ?.split(",")
      .map((x) => x.trim())
      .filter(Boolean);
  const numbers = (s: string | undefined, d: readonly number[]) => list(s)?.map(Number) ?? [...d];
  const only = new Set(list(values.only) ?? ["headline", "floor", "per-op", "scaling"]);
  const wanted = list(values.backend);
  const subjects = benchBackends().filter((b) => !wanted || wanted.includes(b.id));
  if (subjects.length === 0) throw new Error(`no backend matches --backend ${values.backend}`);
  const rounds = Number(values.rounds);
  const startedAt = new Date();
  const t0 = performance.now();
  const runId = newRunId();
  const log = (line: string) =>
    process.stderr.write(`[bench ${fmtMs(performance.now() - t0).padStart(8)}] ${line}\n`);

  const machine = await machineInfo();
  log(
    `machine: ${machine.cpus} cpu, ${machine.memoryGiB} GiB, node ${machine.node}, podman ${machine.podman}, docker ${machine.docker} (swarm ${machine.swarm}), load ${machine.loadAtStart}`,
  );
  const [podmanImage, dockerImage] = await Promise.all([
    ensureProbeImageInfo("podman"),
    ensureProbeImageInfo("docker"),
  ]);
  const images: BenchImages = {
    podman: podmanImage.reference,
    docker: dockerImage.reference,
    dockerId: dockerImage.id,
  };
  log(`probe image ${images.podman} (${images.dockerId.slice(0, 19)})`);

  const result: BenchResult = {
    schemaVersion: 1,
    startedAt: startedAt.toISOString(),
    durationMs: 0,
    runId,
    machine,
    loadAtEnd: 0,
    settings: {
      only: [...only],
      backends: subjects.map((s) => s.id),
      rounds,
      startRounds: Number(values["start-rounds"]),
      compareRounds: Number(values["compare-rounds"]),
      baseline: values.baseline,
      headlineRounds: Number(values["headline-rounds"]),
    },
  };

  if (only.has("headline")) {
    log(`0/3 headline: keyhole compare --backend ${HEADLINE_BACKENDS.join(",")}, before and after`);
    result.headline = await headline(
      values.baseline ?? DEFAULT_BASELINE,
      Number(values["headline-rounds"]),
      log,
    ).catch((e: unknown) => ({ error: message(e) }));
    if ("error" in result.headline) log(`headline: FAILED ${result.headline.error}`);
  }

  if (only.has("floor")) {
    log("1/3 floor ratio");
    result.floor = await floorRatio(
      subjects,
      images,
      runId,
      {
        starts: Number(values["start-rounds"]),
        compares: Number(values["compare-rounds"]),
        alone: !values["no-alone"],
      },
      log,
    ).catch((e: unknown) => ({ error: message(e) }));
    if ("error" in result.floor) log(`floor: FAILED ${result.floor.error}`);
  }
  if (only.has("per-op")) {
    log("2/3 per-operation overhead");
    result.perOperation = [];
    for (const subject of subjects) {
      let bare: BareSequence | undefined;
      try {
        bare = await bareFor(subject, images, runId);
        // Ctrl-C removes what the bare half created too (adapters register their own dispose).
        const sequence = bare;
        const unregister = registerCleanup(() => sequence.cleanup());
        try {
          result.perOperation.push(await perOperation(subject, bare, images, runId, rounds, log));
        } finally {
          unregister();
        }
      } catch (e) {
        log(`per-op ${subject.id}: FAILED ${message(e)}`);
        result.perOperation.push({ backend: subject.id, error: message(e) });
      } finally {
        bare?.dispose();
        resetSpans();
      }
    }
  }
  let violations = 0;
  if (only.has("scaling")) {
    log("3/3 scaling");
    result.scaling = [];
    const sizes = {
      secrets: numbers(values.secrets, SECRET_COUNTS),
      workloads: numbers(values.workloads, WORKLOAD_COUNTS),
    };
    for (const subject of subjects) {
      const series = await scaling(subject, images, runId, sizes, log);
      result.scaling.push(...series);
      violations += series.flatMap((s) => s.points).reduce((t, p) => t + p.isolationViolations, 0);
    }
  }

  result.durationMs = performance.now() - t0;
  result.loadAtEnd = Math.round(loadavg()[0]! * 100) / 100;
  const dir = values.out ?? fileURLToPath(new URL("../results", import.meta.url));
  const stem = values.name ?? startedAt.toISOString().slice(0, 10);
  mkdirSync(dir, { recursive: true });
  const markdown = renderMarkdown(result);
  // Tenths of a millisecond are the resolution that means anything here; ratios (small
  // numbers) keep three decimals.
  const rounded = (_key: string, v: unknown) =>
    typeof v === "number" && !Number.isInteger(v)
      ? Math.abs(v) < 100
        ? Math.round(v * 1000) / 1000
        : Math.round(v * 10) / 10
      : v;
  writeFileSync(join(dir, `${stem}.json`), `${JSON.stringify(result, rounded, 2)}\n`);
  writeFileSync(join(dir, `${stem}.md`), markdown);
  formatLikeTheRepo(join(dir, `${stem}.md`), join(dir, `${stem}.json`));
  process.stdout.write(markdown);
  log(`wrote ${join(dir, `${stem}.md`)} and .json`);
  if (violations > 0) {
    log(`${violations} isolation violation(s): a workload saw a secret that was not its own`);
    return 1;
  }
  return 0;
}

function bareFor(subject: BenchBackend, images: BenchImages, runId: string): Promise<BareSequence> {
  if (subject.id === "podman-pass") return barePodmanPass(images, runId);
  if (subject.engine === "podman") return Promise.resolve(barePodman(images, runId));
  if (subject.engine === "swarm") return Promise.resolve(bareSwarm(images, runId));
  return Promise.resolve(bareDocker(images, runId));
}

/** Biome formats Markdown tables and JSON; a committed result must pass `biome ci`. Best effort. */
function formatLikeTheRepo(...files: string[]): void {
  const biome = fileURLToPath(new URL("../../node_modules/.bin/biome", import.meta.url));
  if (existsSync(biome)) spawnSync(biome, ["format", "--write", ...files], { stdio: "ignore" });
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `[bench] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
