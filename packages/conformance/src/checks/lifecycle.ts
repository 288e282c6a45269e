import { KEYHOLE_RUN_LABEL } from "@keyhole/core";
import type { Measurement } from "../judge.js";
import { parseKv, q, script, sha256 } from "../pass.js";
import { deniedReason, hostless } from "./env.js";
import type { CheckImpl } from "./types.js";

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
      const ask = async (args: string[]): Promise<{ ok: boolean; lines: string[] }> => {
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
          lines: r.stdout
            .split("\n")
            .map((l) => l.trim())
            .filter(Boolean),
        };
      };
      const label = `label=${KEYHOLE_RUN_LABEL}=${pass.backend.runId}`;
      const containerIds = pass.workloads.map((w) => w.containerId);
      const services = pass.workloads
        .filter((w) => w.objectId !== w.containerId)
        .map((w) => w.objectId);
      // Independent questions, asked at once; each names what it found.
      const [labelled, inspected, svcLabelled, svcInspected, secrets, volumes] = await Promise.all([
        ask(["ps", "-a", "--filter", label, "--format", "{{.ID}}"]),
        containerIds.length > 0
          ? ask(["container", "inspect", "--format", "{{.Id}}", ...containerIds])
          : Promise.resolve({ ok: true, lines: [] }),
        // Not a swarm manager → these fail: the plain engine has no services or secrets then.
        cli.kind === "docker"
          ? ask(["service", "ls", "--filter", label, "--format", "{{.ID}}"])
          : Promise.resolve({ ok: true, lines: [] }),
        cli.kind === "docker" && services.length > 0
          ? ask(["service", "inspect", "--format", "{{.ID}}", ...services])
          : Promise.resolve({ ok: true, lines: [] }),
        ask(["secret", "ls", "--format", "{{.Name}}"]),
        ask(["volume", "ls", "--filter", label, "--format", "{{.Name}}"]),
      ]);
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
