// A tiny HTTP client over a unix socket for the provisioning scripts (no dependencies): enough
// for _ping, version and loading an image archive into an engine set's Podman and dockerd.
import { request as httpRequest } from "node:http";

/**
 * `method path` on the engine API at `socketPath`; resolves `{ status, body }` (body as text),
 * rejects when nothing answers. `body` (a Buffer) is sent as application/x-tar.
 */
export function request(socketPath, method, path, { body, timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        socketPath,
        method,
        path,
        headers: body ? { "Content-Type": "application/x-tar", "Content-Length": body.length } : {},
        timeout: timeoutMs,
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** True when the API at `socketPath` answers `GET /_ping` with 200. */
export async function pings(socketPath) {
  try {
    return (await request(socketPath, "GET", "/_ping", { timeoutMs: 5_000 })).status === 200;
  } catch {
    return false;
  }
}
