// Small wrappers over child_process for the provisioning scripts (no dependencies).
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/**
 * Runs `cmd args` to completion and returns `{ code, stdout, stderr }`; `code` is 127 when the
 * command does not exist. `input` is fed to stdin. Never throws for a failing command.
 */
export function run(cmd, args = [], { env = process.env, timeout = 120_000, stdio, input } = {}) {
  const r = spawnSync(cmd, args, { env, timeout, encoding: "utf8", stdio: stdio ?? "pipe", input });
  if (r.error && r.error.code === "ENOENT")
    return { code: 127, stdout: "", stderr: `${cmd}: not found` };
  if (r.error) return { code: 1, stdout: r.stdout ?? "", stderr: `${cmd}: ${r.error.message}` };
  return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** The absolute path of `name` on `PATH` (plus the sbin dirs a non-login root shell may miss). */
export function which(name) {
  if (name.includes("/")) return isExecutable(name) ? name : undefined;
  const dirs = [
    ...(process.env.PATH ?? "").split(delimiter),
    "/usr/local/sbin",
    "/usr/sbin",
    "/sbin",
  ];
  for (const dir of dirs) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** True when this process runs as root. */
export function isRoot() {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/** Last `n` non-empty lines of `text`, for error messages. */
export function tail(text, n = 5) {
  return text.trim().split("\n").filter(Boolean).slice(-n).join("\n");
}
