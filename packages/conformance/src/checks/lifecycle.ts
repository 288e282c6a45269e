import { KEYHOLE_RUN_LABEL } from "@keyhole/core";
import type { EngineCli } from "../host-engine.js";
import type { Measurement } from "../judge.js";
import { type Pass, parseKv, q, type SightResult, script, sha256 } from "../pass.js";
import { deniedReason, hostless } from "./env.js";
import type { CheckImpl } from "./types.js";

/** The `--filter` of every object this pass's backend made. */
export function runLabelFilter(pass: Pass): string {
  return `label=${KEYHOLE_RUN_LABEL}=${pass.backend.runId}`;
}

/** Whether the Docker engine is a swarm manager (only then it has services and secrets). */
async function isSwarmManager(cli: EngineCli): Promise<boolean> {
  const r = await cli.run(["info", "--format", "{{.Swarm.ControlAvailable}}"]);
  if (r.code !== 0) throw new Error(`${cli.binary} info failed: ${r.stderr.trim()}`);
  return r.stdout.trim() === "true";
}

/**
 * Asks the engine for this run's containers by label while they still run: the positive
 * control of `lifecycle.cleanup` (the runner calls it right before `dispose()`).
 */
export async function sightRun(pass: Pass): Promise<SightResult> {
  const cli = pass.cli;
  if (!cli) return { ok: false, code: -1, ids: [], stderr: "no host-side oracle" };
  // A multi-node engine: a task's container is known only to its node's engine, so every node
  // is asked too (the same engines the check asks after dispose).
  const clis = [cli, ...pass.nodeClis().map((n) => n.cli)];
  const answers = await Promise.all(
    clis.map((c) => c.run(["ps", "-a", "--filter", runLabelFilter(pass), "--format", "{{.ID}}"])),
  );
  const failed = answers.find((r) => r.code !== 0);
  return {
    ok: failed === undefined,
    code: failed?.code ?? 0,
    ids: [
      ...new Set(
        answers.flatMap((r) =>
          r.stdout
            .split("\n")
            .map((l) => l.trim())
            .filter(Boolean),
        ),
      ),
    ],
    stderr: failed?.stderr ?? "",
  };
}

export const lifecycleChecks: Record<string, CheckImpl> = {
  "lifecycle.replace": {
    fixtures: ["replace"],
    async measure({ pass }, [replace]) {
      const f = replace!.data.target!;
      const kv = parseKv(
        (
          await pass.sh(replace!.workload!, script(`rd ${q(f)} read`), {
            note: "a workload started after replaceSecret reads the file",
          })
        ).stdout,
      );
      const read = kv.get("read");
      const name = replace!.data.secret!.name;
      const listed = (await pass.backend.listSecrets()).filter((s) => s.name === name).length;
      const contradictions =
        listed === 1
          ? []
          : [`listSecrets() shows ${listed} secrets named ${name} after replaceSecret, not 1.`];
      if (read === sha256(replace!.data.value!)) {
        return {
          outcome: "protected",
          observed: `new workload reads the new value; ${listed} secret of that name`,
          contradictions,
        };
      }
      if (read === sha256(replace!.data.oldValue!)) {
        return {
          outcome: "exposed",
          observed: "new workload still reads the old value",
          contradictions,
        };
      }
      return {
        outcome: "error",
        reason: `The replaced secret's file cannot be read: ${deniedReason(read)}.`,
        contradictions,
      };
    },
  },
  "lifecycle.cleanup": {
    fixtures: [],
    async measure({ pass }): Promise<Measurement> {
      const cli = pass.cli;
      if (!cli) return hostless(pass.backend.engine.kind);
      if (pass.disposeError === undefined)
        return { outcome: "error", reason: "dispose() did not run." };
      const left: string[] = [];
      const ask = async (
        args: string[],
      ): Promise<{ ok: boolean; lines: string[]; stderr: string }> => {
        const r = await cli.run(args);
        pass.record({
          where: "host",
          argv: [cli.binary, ...args],
          exitCode: r.code,
          stdout: r.stdout,
          stderr: r.stderr,
        });
        return {
          ok: r.code === 0,
          stderr: r.stderr,
          lines: r.stdout
            .split("\n")
            .map((l) => l.trim())
            .filter(Boolean),
        };
      };
      const label = runLabelFilter(pass);
      // Positive control: before dispose, the same label query saw this run's containers. A
      // query that never sees anything cannot prove that nothing is left.
      const before = pass.beforeDispose;
      if (pass.workloads.length > 0) {
        if (!before) {
          return {
            outcome: "error",
            reason:
              "Positive control missing: the engine was not asked for this run's containers before dispose.",
          };
        }
        if (!before.ok || before.ids.length === 0) {
          return {
            outcome: "error",
            reason: `Positive control failed: before dispose, \`${cli.binary} ps --filter ${label}\` did not list any of the run's ${pass.workloads.length} running containers (exit ${before.code}${before.stderr ? `: ${pass.redactor.clip(before.stderr, 200)}` : ""}).`,
          };
        }
      }
      // Services and secrets exist only on a swarm manager; the engine (not the backend) says.
      const manager = cli.kind === "docker" ? await isSwarmManager(cli) : true;
      const containerIds = pass.workloads.map((w) => w.containerId);
      const services = pass.workloads
        .filter((w) => w.objectId !== w.containerId)
        .map((w) => w.objectId);
      // Independent questions, asked at once; each names what it found.
      const [labelled, inspected, svcLabelled, svcInspected, secrets, volumes] = await Promise.all([
        ask(["ps", "-a", "--filter", label, "--format", "{{.ID}}"]),
        containerIds.length > 0
          ? ask(["container", "inspect", "--format", "{{.Id}}", ...containerIds])
          : Promise.resolve({ ok: true, lines: [], stderr: "" }),
        // Not a swarm manager → these fail: the plain engine has no services or secrets then.
        cli.kind === "docker" && manager
          ? ask(["service", "ls", "--filter", label, "--format", "{{.ID}}"])
          : Promise.resolve({ ok: true, lines: [], stderr: "" }),
        cli.kind === "docker" && manager && services.length > 0
          ? ask(["service", "inspect", "--format", "{{.ID}}", ...services])
          : Promise.resolve({ ok: true, lines: [], stderr: "" }),
        manager
          ? ask(["secret", "ls", "--format", "{{.Name}}"])
          : Promise.resolve({ ok: true, lines: [], stderr: "" }),
        ask(["volume", "ls", "--filter", label, "--format", "{{.Name}}"]),
      ]);
      // Fail closed: an answer the engine refused to give is not "nothing left". `inspect` of
      // removed objects fails by design (exit 1, "no such …"): only its other failures count.
      const failed = [
        ["ps", labelled],
        ["service ls", svcLabelled],
        ["secret ls", secrets],
        ["volume ls", volumes],
      ].filter(([, a]) => !(a as { ok: boolean }).ok);
      for (const [what, a] of [
        ["container inspect", inspected],
        ["service inspect", svcInspected],
      ] as const) {
        if (!a.ok && !/no such|not found/i.test(a.stderr)) failed.push([what, a]);
      }
      if (failed.length > 0) {
        return {
          outcome: "error",
          reason: `The engine did not answer: ${failed.map(([w]) => `${cli.binary} ${w as string}`).join(", ")} failed.`,
        };
      }
      for (const id of labelled.lines) left.push(`container ${id}`);
      for (const id of inspected.lines) {
        if (!labelled.lines.some((l) => id.startsWith(l)))
          left.push(`container ${id.slice(0, 12)} (unlabelled)`);
      }
      for (const id of svcLabelled.lines) left.push(`service ${id}`);
      for (const id of svcInspected.lines) {
        if (!svcLabelled.lines.some((l) => id.startsWith(l)))
          left.push(`service ${id.slice(0, 12)} (unlabelled)`);
      }
      for (const name of secrets.lines) if (pass.secretNames.has(name)) left.push(`secret ${name}`);
      for (const v of volumes.lines) left.push(`volume ${v}`);
      // A multi-node engine: every node's own engine is asked for containers of the run.
      const perNode = await Promise.all(
        pass.nodeClis().map(async ({ node, cli: nodeCli }) => {
          const args = ["ps", "-a", "--filter", label, "--format", "{{.ID}}"];
          const r = await nodeCli.run(args);
          pass.record({
            where: "host",
            argv: [nodeCli.binary, ...args],
            exitCode: r.code,
            stdout: r.stdout,
            stderr: r.stderr,
            note: `node ${node}`,
          });
          if (r.code !== 0)
            return [`node ${node} did not answer (${r.stderr.trim().slice(0, 120)})`];
          return r.stdout
            .split("\n")
            .filter(Boolean)
            .map((id) => `container ${id.trim()} on ${node}`);
        }),
      );
      left.push(...perNode.flat());
      const unique = [...new Set(left)];
      const contradictions = pass.disposeError ? [`dispose() threw: ${pass.disposeError}`] : [];
      return {
        outcome: unique.length > 0 ? "exposed" : "protected",
        observed:
          unique.length > 0
            ? `left behind: ${unique.join(", ")}`
            : `nothing of run ${pass.backend.runId} left (${pass.workloads.length} workloads, ${pass.secretNames.size} secrets)`,
        contradictions,
      };
    },
  },
};
