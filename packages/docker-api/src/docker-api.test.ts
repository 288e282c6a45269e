import { createHash, randomBytes } from "node:crypto";
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import { KEYHOLE_LABEL, KEYHOLE_RUN_LABEL, newRunId } from "@keyhole/core";
import { ensureProbeImage } from "@keyhole/probe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerClient, execInContainer, resolveDockerEndpoint, toKeyholeError } from "./index.js";
import { makeTestPki, startTlsProxy, type TestPki } from "./test-tls-proxy.js";

// The real host engine; one container of this file's run, removed at the end.
const local = resolveDockerEndpoint("docker-api-test", {}, {});
const docker = dockerClient("docker-api-test", local);
const runId = newRunId();
let containerId = "";

beforeAll(async () => {
  const image = await ensureProbeImage("docker");
  const container = await docker.createContainer({
    Image: image,
    Cmd: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
    Labels: { [KEYHOLE_LABEL]: "true", [KEYHOLE_RUN_LABEL]: runId },
    HostConfig: { NetworkMode: "none", AutoRemove: false },
  });
  containerId = container.id;
  await container.start();
});

afterAll(async () => {
  if (containerId) await docker.getContainer(containerId).remove({ force: true });
});

describe("execInContainer on the real engine (unix socket)", () => {
  it("passes binary stdin, splits stdout from stderr and returns the exit code", async () => {
    const target = { docker, containerId, backendId: "t", endpoint: local.endpoint };
    const input = Buffer.concat([randomBytes(70_000), Buffer.from([0, 255, 10])]);
    const r = await execInContainer(
      target,
      ["sh", "-c", "md5sum; echo to-stderr >&2; id -u; exit 3"],
      { stdin: input, user: "2000" },
    );
    const md5 = createHash("md5").update(input).digest("hex");
    expect(r).toEqual({ exitCode: 3, stdout: `${md5}  -\n2000\n`, stderr: "to-stderr\n" });
  });

  it("uses defaultUser when no user is given, and the container's user otherwise", async () => {
    const target = { docker, containerId, backendId: "t", endpoint: local.endpoint };
    expect((await execInContainer({ ...target, defaultUser: "3000" }, ["id", "-u"])).stdout).toBe(
      "3000\n",
    );
    expect((await execInContainer(target, ["id", "-u"])).stdout).toBe("0\n");
  });

  it("maps a missing container to ENGINE_ERROR with the engine's reason", async () => {
    const target = { docker, containerId: "0".repeat(64), backendId: "t", endpoint: "unix:///x" };
    await expect(execInContainer(target, ["true"])).rejects.toMatchObject({
      code: "ENGINE_ERROR",
      message: expect.stringMatching(
        /^\[keyhole\] \[t\] The Docker engine at unix:\/\/\/x refused to run "true" in container 000000000000 \(HTTP 404\): No such container: 0{64}\. Check `docker info` and dockerd's log\.$/,
      ),
    });
  });
});

describe("tcp:// with TLS (a --tlsverify listener in front of the real engine)", () => {
  let pki: TestPki;
  let proxy: Awaited<ReturnType<typeof startTlsProxy>>;
  let host = "";

  beforeAll(async () => {
    pki = makeTestPki();
    if (local.kind !== "unix") throw new Error("the host engine must be on a unix socket");
    proxy = await startTlsProxy(pki, local.socketPath);
    host = `tcp://127.0.0.1:${proxy.port}`;
  });
  afterAll(async () => {
    await proxy?.close();
    pki?.remove();
  });

  it("talks to the engine with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, exec included", async () => {
    const env = { DOCKER_HOST: host, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: pki.clientDir };
    const endpoint = resolveDockerEndpoint("t", {}, env);
    expect(endpoint).toMatchObject({ kind: "tcp", endpoint: host, tls: { verify: true } });
    const remote = dockerClient("t", endpoint);
    expect((await remote.version()).Version).toBe((await docker.version()).Version);
    const r = await execInContainer(
      { docker: remote, containerId, backendId: "t", endpoint: endpoint.endpoint },
      ["cat"],
      { stdin: "over tls" },
    );
    expect(r).toEqual({ exitCode: 0, stdout: "over tls", stderr: "" });
  });

  it("a client certificate the daemon does not trust: ENGINE_UNAVAILABLE with the TLS fix", async () => {
    const endpoint = resolveDockerEndpoint("t", { host, tls: { certPath: pki.strangerDir } }, {});
    const remote = dockerClient("t", endpoint);
    const error = await execInContainer(
      { docker: remote, containerId, backendId: "t", endpoint: endpoint.endpoint },
      ["true"],
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "ENGINE_UNAVAILABLE",
      fix: "export DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=<directory with ca.pem, cert.pem, key.pem>",
    });
  });

  it("a daemon certificate from another CA: ENGINE_UNAVAILABLE naming the TLS failure", async () => {
    const tls = {
      ca: join(pki.dir, "other-ca.pem"),
      cert: join(pki.clientDir, "cert.pem"),
      key: join(pki.clientDir, "key.pem"),
    };
    const endpoint = resolveDockerEndpoint("t", { host, tls }, {});
    const raw = await dockerClient("t", endpoint)
      .version()
      .catch((e: unknown) => e);
    const error = toKeyholeError("t", endpoint.endpoint, "answer a version request", raw);
    expect(error).toMatchObject({
      code: "ENGINE_UNAVAILABLE",
      message: expect.stringMatching(
        /^\[keyhole\] \[t\] The TLS handshake with tcp:\/\/127\.0\.0\.1:\d+ failed \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY): .+\) while trying to answer a version request\. /,
      ),
    });
  });

  it("missing TLS files are an INVALID_INPUT naming the file", () => {
    const endpoint = resolveDockerEndpoint("t", { host, tls: { certPath: "/nonexistent" } }, {});
    expect(() => dockerClient("t", endpoint)).toThrow(
      expect.objectContaining({
        code: "INVALID_INPUT",
        message:
          "[keyhole] [t] Cannot read the TLS CA certificate /nonexistent/ca.pem for " +
          `${host} (ENOENT). Set DOCKER_CERT_PATH to the directory holding ca.pem, cert.pem and key.pem, or pass tls: { ca, cert, key }.`,
      }),
    );
  });

  it("nothing listening on a TCP port: ENGINE_UNAVAILABLE with a command to check it", async () => {
    // A port that was free a moment ago (the kernel handed it out, then it was closed).
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const host = `tcp://127.0.0.1:${port}`;
    const endpoint = resolveDockerEndpoint("t", { host }, {});
    const error = await execInContainer(
      { docker: dockerClient("t", endpoint), containerId, backendId: "t", endpoint: host },
      ["true"],
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "ENGINE_UNAVAILABLE",
      fix: `docker -H ${host} version`,
      message: `[keyhole] [t] No Docker engine answers on ${host} (ECONNREFUSED) while trying to run "true" in container ${containerId.slice(0, 12)}. Check that dockerd listens there and that a firewall lets the port through. Fix: docker -H ${host} version`,
    });
  });
});
