import http from "node:http";
import type { Duplex } from "node:stream";
import { EngineError, EngineUnavailableError } from "@keyhole/core";

/**
 * The libpod API prefix. libpod paths need a version prefix; 4.0.0 is the oldest version
 * Podman 4.x answers on (`MinAPIVersion`), so this works from 4.0 on.
 */
export const LIBPOD = "/v4.0.0/libpod";

/** The command that installs Podman, for `ENGINE_UNAVAILABLE` errors. */
export const PODMAN_FIX =
  "apt-get install podman (in the keyhole repository: node scripts/setup.mjs)";

/** What one libpod request answered. */
export interface LibpodResponse {
  status: number;
  body: Buffer;
}

/** A request body: JSON, or raw bytes sent as `application/octet-stream`. */
export type LibpodBody = { json: unknown } | { bytes: Uint8Array };

/** Options of {@link LibpodClient.request}. */
export interface LibpodRequestOptions {
  /** Query parameters; objects are sent as JSON (libpod decodes map parameters from JSON). */
  query?: Record<string, string | number | boolean | object | undefined>;
  body?: LibpodBody;
}

/** A request that did not finish within this many ms means the engine hangs. */
const REQUEST_TIMEOUT_MS = 180_000;

/**
 * A tiny client for the libpod REST API over a unix socket, on Node's `http` (no
 * dependencies). Secret values only ever travel in request bodies.
 */
export class LibpodClient {
  readonly socketPath: string;
  readonly #backendId: string;

  constructor(socketPath: string, backendId: string) {
    this.socketPath = socketPath;
    this.#backendId = backendId;
  }

  /** Sends one request and buffers the answer; throws only when the socket is unreachable. */
  request(
    method: string,
    path: string,
    options: LibpodRequestOptions = {},
  ): Promise<LibpodResponse> {
    const { headers, payload } = encodeBody(options.body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          socketPath: this.socketPath,
          method,
          path: `${LIBPOD}${path}${encodeQuery(options.query)}`,
          headers,
          timeout: REQUEST_TIMEOUT_MS,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }),
          );
          res.on("error", (e) => reject(this.#transportError(method, path, e)));
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      req.on("error", (e) => reject(this.#transportError(method, path, e)));
      req.end(payload);
    });
  }

  /** Like {@link request}, but parses a JSON answer and throws `ENGINE_ERROR` on a 4xx/5xx. */
  async json<T>(
    method: string,
    path: string,
    what: string,
    options?: LibpodRequestOptions,
  ): Promise<T> {
    const res = await this.request(method, path, options);
    if (res.status >= 400) throw this.engineError(what, res);
    return (res.body.length === 0 ? undefined : JSON.parse(res.body.toString("utf8"))) as T;
  }

  /**
   * Sends a request that the engine upgrades to a raw stream (exec start), writes `stdin`,
   * half-closes, and returns everything the engine sent until it closed the stream.
   */
  hijack(path: string, json: unknown, stdin: Uint8Array | undefined): Promise<Buffer> {
    const { headers, payload } = encodeBody({ json });
    return new Promise((resolve, reject) => {
      const req = http.request({
        socketPath: this.socketPath,
        method: "POST",
        path: `${LIBPOD}${path}`,
        headers: { ...headers, Connection: "Upgrade", Upgrade: "tcp" },
      });
      const collect = (stream: Duplex | http.IncomingMessage, head: Buffer) => {
        const chunks: Buffer[] = [head];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => resolve(Buffer.concat(chunks)));
        stream.on("error", (e) => reject(this.#transportError("POST", path, e)));
      };
      req.on("upgrade", (_res, socket, head) => {
        collect(socket, head);
        // Half-closing is what tells Podman the exec's stdin reached EOF.
        if (stdin && stdin.length > 0) socket.write(stdin);
        socket.end();
      });
      req.on("response", (res) => {
        if ((res.statusCode ?? 0) >= 400) {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            reject(
              this.engineError("start an exec session", {
                status: res.statusCode ?? 0,
                body: Buffer.concat(chunks),
              }),
            ),
          );
          return;
        }
        collect(res, Buffer.alloc(0));
      });
      req.on("error", (e) => reject(this.#transportError("POST", path, e)));
      req.end(payload);
    });
  }

  /** An `ENGINE_ERROR` for a refused request, quoting the engine's (redacted) reason. */
  engineError(what: string, res: LibpodResponse): EngineError {
    return new EngineError(
      this.#backendId,
      `Podman refused to ${what} (HTTP ${res.status}: ${engineMessage(res)}). Check the request, or run \`podman info\` to see the engine's state.`,
    );
  }

  #transportError(method: string, path: string, error: Error): Error {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ECONNREFUSED" || code === "ECONNRESET" || code === "EPIPE") {
      return new EngineUnavailableError(
        this.#backendId,
        `The Podman API at unix://${this.socketPath} is not answering (${code} on ${method} ${path}).`,
        `podman system service --time=0 unix://${this.socketPath}  (or let keyhole start its own service: omit socketPath)`,
        { cause: error },
      );
    }
    return new EngineError(
      this.#backendId,
      `The Podman API request ${method} ${path} failed: ${error.message}. Check that the Podman service is healthy (\`podman info\`).`,
      { cause: error },
    );
  }
}

/** The engine's own message from an error answer (`{"cause","message","response"}`). */
export function engineMessage(res: LibpodResponse): string {
  const text = res.body.toString("utf8").trim();
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === "string") return parsed.message;
  } catch {
    // Not JSON: quote the raw text.
  }
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** The engine's `cause` field from an error answer, e.g. `"secret name in use"`. */
export function engineCause(res: LibpodResponse): string {
  try {
    const parsed = JSON.parse(res.body.toString("utf8")) as { cause?: unknown };
    return typeof parsed.cause === "string" ? parsed.cause : "";
  } catch {
    return "";
  }
}

function encodeQuery(query: LibpodRequestOptions["query"]): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    // libpod decodes map and filter parameters from JSON; anything else (`a=b` forms) is
    // silently dropped by Podman 4.3, e.g. driver options.
    params.set(key, typeof value === "object" ? JSON.stringify(value) : String(value));
  }
  const s = params.toString();
  return s ? `?${s}` : "";
}

function encodeBody(body: LibpodBody | undefined): {
  headers: Record<string, string | number>;
  payload: Buffer | undefined;
} {
  if (!body) return { headers: {}, payload: undefined };
  const payload =
    "json" in body ? Buffer.from(JSON.stringify(body.json), "utf8") : Buffer.from(body.bytes);
  return {
    headers: {
      "Content-Type": "json" in body ? "application/json" : "application/octet-stream",
      "Content-Length": payload.length,
    },
    payload,
  };
}
