// Runs a command without a shell and collects its output; the release checks read exit codes.
import { spawn } from "node:child_process";

/**
 * @typedef {{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }} ExecResult
 */

/**
 * Runs `command args` and resolves with its exit code and output (never rejects on a non-zero
 * exit; callers decide what a failure means).
 * @param {string} command
 * @param {string[]} args
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv, input?: string }} [options]
 * @returns {Promise<ExecResult>}
 */
export function exec(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** The last `lines` lines of a command's output, for an error message. */
export function tail(text, lines = 30) {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** npm settings a user or CI may set in the environment; a nested npm keeps these. */
const KEPT_NPM_SETTINGS =
  /^npm_config_(registry|cache|userconfig|globalconfig|proxy|https_proxy|noproxy|strict_ssl|cafile|prefer_offline|offline|loglevel)$/i;

/**
 * The environment without the `npm_*` variables an enclosing `npm test` sets (its prefix, its
 * package, its lifecycle), so a nested npm (pack, install in a scratch project) acts on the
 * folder it runs in, as if a user typed it; registry, cache and proxy settings are kept.
 * @param {NodeJS.ProcessEnv} [extra] variables to add
 */
export function cleanNpmEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) && !KEPT_NPM_SETTINGS.test(key)) continue;
    if (key === "INIT_CWD") continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}
