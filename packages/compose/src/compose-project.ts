import { SECRETS_DIR } from "@keyhole/core";

/** Where a Compose secret's value comes from: a host file, or a variable of Compose's environment. */
export type ComposeSecretSource = "file" | "environment";

/** One secret of a generated project, as the service mounts it. */
export interface ComposeProjectSecret {
  /** The top-level secret name (`s1`, `s2`, …: never a value). */
  name: string;
  /** `file`: the path of the host copy as the engine sees it; `environment`: the variable name. */
  from: string;
  /** The target under `/run/secrets` (absolute). */
  target: string;
  uid?: number;
  gid?: number;
  mode?: number;
}

/** What a generated project runs: one service, no network, no volume. */
export interface ComposeProjectSpec {
  /** The Compose project name (`-p`). */
  project: string;
  source: ComposeSecretSource;
  image: string;
  command?: readonly string[];
  user?: string;
  /** Plain (non-secret) variables of the service. */
  env?: Readonly<Record<string, string>>;
  capDrop?: readonly string[];
  capAdd?: readonly string[];
  /** Labels of the service's container (keyhole's ownership labels included). */
  labels: Readonly<Record<string, string>>;
  secrets: readonly ComposeProjectSecret[];
}

/** The one service of every generated project. */
export const SERVICE = "workload";

/**
 * Compose interpolates `$VAR` / `${VAR}` in every string of a compose file; `$$` is a literal
 * `$`. Commands such as `sh -c 'echo "$X"'` must reach the container unchanged.
 */
export function escapeInterpolation(text: string): string {
  return text.replace(/\$/g, "$$$$");
}

/**
 * The compose file of a workload, as JSON (which Compose reads as YAML 1.2, so no YAML
 * library and no quoting rules to get wrong). It holds no secret value: `file:` sources name a
 * host path, `environment:` sources name a variable that Compose reads from its env file. The
 * service gets `network_mode: none` (nothing to label or remove besides the container) and
 * never pulls. Pure.
 *
 * @example
 * ```ts
 * composeProjectJson({ project: "keyhole-compose-file-3fa2-1", source: "file", image: "busybox",
 *   labels: { keyhole: "true" },
 *   secrets: [{ name: "s1", from: "/run/keyhole-compose/x/s1", target: "/run/secrets/token" }] });
 * ```
 */
export function composeProjectJson(spec: ComposeProjectSpec): string {
  const s = escapeInterpolation;
  const service: Record<string, unknown> = {
    image: s(spec.image),
    network_mode: "none",
    pull_policy: "never",
    labels: Object.fromEntries(Object.entries(spec.labels).map(([k, v]) => [k, s(v)])),
  };
  if (spec.command !== undefined) service.command = spec.command.map(s);
  if (spec.user !== undefined) service.user = s(spec.user);
  if (spec.env && Object.keys(spec.env).length > 0) {
    service.environment = Object.fromEntries(Object.entries(spec.env).map(([k, v]) => [k, s(v)]));
  }
  if (spec.capDrop?.length) service.cap_drop = spec.capDrop.map(s);
  if (spec.capAdd?.length) service.cap_add = spec.capAdd.map(s);
  if (spec.secrets.length > 0) {
    service.secrets = spec.secrets.map((x) => ({
      source: x.name,
      // Relative to /run/secrets, which is where Compose puts both kinds of source.
      target: x.target.slice(SECRETS_DIR.length + 1),
      ...(x.uid === undefined ? {} : { uid: String(x.uid) }),
      ...(x.gid === undefined ? {} : { gid: String(x.gid) }),
      ...(x.mode === undefined ? {} : { mode: x.mode }),
    }));
  }
  const secrets = Object.fromEntries(
    spec.secrets.map((x) => [
      x.name,
      spec.source === "file" ? { file: s(x.from) } : { environment: x.from },
    ]),
  );
  const project = {
    name: spec.project,
    services: { [SERVICE]: service },
    ...(spec.secrets.length > 0 ? { secrets } : {}),
  };
  return `${JSON.stringify(project, null, 2)}\n`;
}

/**
 * The env file Compose reads `environment:` sources from: `NAME='value'` lines. Single quotes
 * are literal in Compose's dotenv parser (no `$` interpolation, no escapes, newlines kept), so
 * the value arrives byte for byte; a value holding `'`, NUL or invalid UTF-8 cannot be written
 * this way and is refused before (see `envFileProblem`).
 */
export function envFileText(entries: readonly { name: string; value: string }[]): string {
  return entries.map((e) => `${e.name}='${e.value}'\n`).join("");
}

/** Why `bytes` cannot travel in an env file as text, or undefined when it can. */
export function envFileProblem(bytes: Uint8Array): string | undefined {
  if (bytes.includes(0)) return "it holds a NUL byte, which no environment variable can carry";
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return "it is not valid UTF-8, and Compose's environment holds text";
  }
  if (text.includes("'")) {
    return "it holds a single quote, which Compose's env file cannot quote literally";
  }
  return undefined;
}
