// A fixed, fake report for the renderers' unit tests (pure logic; no engine involved).

import type { Report } from "@keyhole/conformance";
import type { Capabilities } from "@keyhole/core";
import type { CheckInfo } from "./matrix.js";

export const FAKE_CHECKS: CheckInfo[] = [
  { id: "env.child-inherits", title: "A child process sees the variable", figure: "fig. 4-2" },
  { id: "env.other-uid-sees", title: "A process of another uid sees it", figure: "fig. 4-5" },
  {
    id: "file.uid-gid-mode-honoured",
    title: "uid/gid/mode 2000/2000/0400 are honoured",
    figure: "fig. 5-4",
  },
  { id: "file.scrub-after-use", title: "The file can be scrubbed after use", figure: "fig. 5-3" },
  { id: "rest.plaintext-on-host", title: "The value is stored in plaintext on the host" },
  { id: "limits.max-bytes", title: "Largest accepted value" },
];

const caps: Capabilities = {
  envDelivery: true,
  fileDelivery: true,
  fileOwnership: true,
  fileMode: true,
  scrubAfterUse: true,
  targetOutsideSecretsDir: true,
  capDrop: true,
  engineSecretStore: true,
  encryptedAtRest: false,
  replaceInPlace: true,
  maxValueBytes: 511_999,
  binarySafe: true,
};

export function fakeReport(): Report {
  return {
    schemaVersion: 2,
    tool: { name: "keyhole", version: "9.9.9" },
    startedAt: "2026-01-02T03:04:05.000Z",
    durationMs: 12_345,
    backends: [
      {
        id: "podman-file",
        available: true,
        engine: { name: "podman", version: "4.3.1" },
        capabilities: caps,
        workloadStarts: 7,
        workloads: [],
        durationMs: 9_100,
        results: [
          {
            check: "env.child-inherits",
            outcome: "exposed",
            observed: "child sees KH_SECRET",
            evidence: [
              {
                where: "container",
                user: "0",
                argv: ["sh", "-c", "sh -c 'echo $KH_SECRET'"],
                exitCode: 0,
                stdout: "[REDACTED]\n",
              },
            ],
            durationMs: 310,
          },
          { check: "env.other-uid-sees", outcome: "exposed", durationMs: 200 },
          {
            check: "file.uid-gid-mode-honoured",
            outcome: "protected",
            observed: "2000:2000 0400 /run/secrets/s",
            evidence: [
              {
                where: "container",
                user: "3000",
                argv: ["cat", "/run/secrets/s"],
                exitCode: 1,
                stderr: "cat: can't open '/run/secrets/s': Permission denied",
                note: "bob is denied",
              },
            ],
            durationMs: 400,
          },
          {
            check: "file.scrub-after-use",
            outcome: "protected",
            observed: "scrubbed | zeros <b>",
            durationMs: 500,
          },
          {
            check: "rest.plaintext-on-host",
            outcome: "exposed",
            observed: "secretsdata.json (base64)",
            durationMs: 90,
          },
          {
            check: "limits.max-bytes",
            outcome: "error",
            observed: "engine refused",
            reason: "EngineError: boom",
            durationMs: 60,
          },
          { check: "hygiene.host-argv-clean", outcome: "protected", durationMs: 70 },
        ],
      },
      {
        id: "docker-swarm",
        available: true,
        engine: { name: "docker swarm", version: "20.10.24" },
        capabilities: { ...caps, envDelivery: false, scrubAfterUse: false },
        workloadStarts: 3,
        workloads: [],
        durationMs: 4_000,
        results: [
          {
            check: "env.child-inherits",
            outcome: "unsupported",
            observed: "UNSUPPORTED_DELIVERY",
            reason: "[keyhole] [docker-swarm] Swarm has no env secrets.",
            durationMs: 3,
          },
          { check: "file.uid-gid-mode-honoured", outcome: "protected", durationMs: 700 },
          { check: "file.scrub-after-use", outcome: "unsupported", durationMs: 650 },
        ],
      },
      {
        id: "docker",
        available: false,
        unavailableReason: "[keyhole] [docker] dockerd is not running. Fix: dockerd &",
        engine: { name: "docker", version: "" },
        capabilities: caps,
        workloadStarts: 0,
        workloads: [],
        durationMs: 0,
        results: [],
      },
    ],
  };
}
