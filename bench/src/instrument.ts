import childProcess from "node:child_process";
import diagnostics from "node:diagnostics_channel";
import type { ClientRequest } from "node:http";
import { syncBuiltinESMExports } from "node:module";
import { basename } from "node:path";

/**
 * Where the time of an adapter call goes, without touching the adapter: every HTTP request
 * (node:http diagnostics channels, undici's for fetch) and every child process (spawn,
 * execFile and their sync forms, patched on the builtin module) is recorded as a span. A
 * window's wall time minus the time with at least one such call in flight is time spent in
 * our own code and the event loop.
 */
export interface Span {
  kind: "http" | "process";
  /** `POST /v4.0.0/libpod/containers/:id/start`, `podman secret create` — never a value. */
  label: string;
  start: number;
  end?: number;
}

/** Time spent in one measured window, split by where it went. */
export interface Breakdown {
  wallMs: number;
  /** Time with at least one engine call (HTTP request or child process) in flight. */
  engineMs: number;
  /** `wallMs - engineMs`: our code, timers, the event loop. */
  ownMs: number;
  httpCalls: number;
  processes: number;
  /** Calls grouped by label: count and summed duration. */
  calls: Record<string, { count: number; ms: number }>;
}

const spans: Span[] = [];
let installed = false;

/** Installs the hooks once; safe to call again. */
export function installInstrumentation(): void {
  if (installed) return;
  installed = true;
  diagnostics.subscribe("http.client.request.start", (message) => {
    const request = (message as { request: ClientRequest }).request;
    const span = open("http", `${request.method} ${normalizePath(request.path)}`);
    // An upgraded (hijacked) request, e.g. an exec session's stream, lasts until its socket
    // closes; the request itself closes as soon as the upgrade is answered.
    let upgraded = false;
    // Only where the caller asked for an upgrade: a listener changes what node does with a 101.
    if (request.getHeader("upgrade") !== undefined)
      request.once("upgrade", (_response: unknown, socket: NodeJS.EventEmitter) => {
        upgraded = true;
        socket.once("close", () => {
          span.end = performance.now();
        });
      });
    request.once("close", () => {
      if (!upgraded) span.end = performance.now();
    });
  });
  const undiciSpans = new WeakMap<object, Span>();
  diagnostics.subscribe("undici:request:create", (message) => {
    const request = (message as { request: { method: string; path: string } }).request;
    undiciSpans.set(request, open("http", `${request.method} ${normalizePath(request.path)}`));
  });
  const closeUndici = (message: unknown) => {
    const span = undiciSpans.get((message as { request: object }).request);
    if (span && span.end === undefined) span.end = performance.now();
  };
  diagnostics.subscribe("undici:request:trailers", closeUndici);
  diagnostics.subscribe("undici:request:error", closeUndici);

  const cp = childProcess as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of ["spawn", "execFile"] as const) {
    const original = cp[name]!;
    cp[name] = function patched(this: unknown, ...args: unknown[]) {
      const span = open("process", processLabel(args));
      const child = original.apply(this, args) as childProcess.ChildProcess;
      child.once("close", () => {
        span.end = performance.now();
      });
      child.once("error", () => {
        span.end ??= performance.now();
      });
      return child;
    };
  }
  for (const name of ["spawnSync", "execFileSync"] as const) {
    const original = cp[name]!;
    cp[name] = function patched(this: unknown, ...args: unknown[]) {
      const span = open("process", processLabel(args));
      try {
        return original.apply(this, args);
      } finally {
        span.end = performance.now();
      }
    };
  }
  // ESM `import { spawn } from "node:child_process"` bindings follow the patched functions.
  syncBuiltinESMExports();
}

/** Starts a measured window; `close()` returns what happened inside it. */
export function openWindow(): { close(): Breakdown } {
  const from = spans.length;
  const started = performance.now();
  return {
    close() {
      const ended = performance.now();
      return breakdown(spans.slice(from), started, ended);
    },
  };
}

/** Measures `fn` and returns its value with the breakdown. */
export async function measure<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; breakdown: Breakdown }> {
  const window = openWindow();
  const value = await fn();
  return { value, breakdown: window.close() };
}

/** Forgets recorded spans (call between scenarios to keep memory flat). */
export function resetSpans(): void {
  spans.length = 0;
}

function open(kind: Span["kind"], label: string): Span {
  const span: Span = { kind, label, start: performance.now() };
  spans.push(span);
  return span;
}

function breakdown(list: readonly Span[], started: number, ended: number): Breakdown {
  const calls: Breakdown["calls"] = {};
  const intervals: Array<[number, number]> = [];
  let httpCalls = 0;
  let processes = 0;
  for (const span of list) {
    const end = Math.min(span.end ?? ended, ended);
    intervals.push([span.start, end]);
    if (span.kind === "http") httpCalls++;
    else processes++;
    const entry = calls[span.label] ?? { count: 0, ms: 0 };
    entry.count++;
    entry.ms += end - span.start;
    calls[span.label] = entry;
  }
  intervals.sort((a, b) => a[0] - b[0]);
  let engineMs = 0;
  let curStart = Number.NaN;
  let curEnd = Number.NaN;
  for (const [s, e] of intervals) {
    if (Number.isNaN(curStart) || s > curEnd) {
      if (!Number.isNaN(curStart)) engineMs += curEnd - curStart;
      curStart = s;
      curEnd = e;
    } else curEnd = Math.max(curEnd, e);
  }
  if (!Number.isNaN(curStart)) engineMs += curEnd - curStart;
  const wallMs = ended - started;
  return { wallMs, engineMs, ownMs: wallMs - engineMs, httpCalls, processes, calls };
}

/** Drops the query and replaces ids and names in a request path with `:id`. */
export function normalizePath(path: string): string {
  const [bare = ""] = path.split("?");
  return bare
    .split("/")
    .map((segment, i, all) => {
      const previous = all[i - 1] ?? "";
      if (/^v\d/.test(segment)) return segment;
      if (/^[0-9a-f]{12,}$/i.test(segment)) return ":id";
      if (/^(containers|secrets|services|exec|tasks|images|networks|volumes)$/.test(previous)) {
        return /^(create|json|prune)$/.test(segment) ? segment : ":id";
      }
      return segment;
    })
    .join("/");
}

function processLabel(args: readonly unknown[]): string {
  const file = typeof args[0] === "string" ? basename(args[0]) : "?";
  const argv = Array.isArray(args[1]) ? (args[1] as unknown[]) : [];
  const words = argv
    .filter((a): a is string => typeof a === "string" && !a.startsWith("-"))
    .slice(0, 2);
  return [file, ...words].join(" ");
}
