import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:tls";

/** A throwaway CA with a server certificate for 127.0.0.1 and a client certificate. */
export interface TestPki {
  dir: string;
  /** A DOCKER_CERT_PATH-style directory: ca.pem, cert.pem (client), key.pem (client). */
  clientDir: string;
  /** Another CA's client certificate, which the proxy does not trust. */
  strangerDir: string;
  serverCert: string;
  serverKey: string;
  remove(): void;
}

function openssl(cwd: string, args: string): void {
  execFileSync("openssl", args.split(" "), { cwd, stdio: "ignore" });
}

/** A key and either a self-signed CA certificate (`x509`) or a signing request. */
function newKey(dir: string, name: string, x509: boolean): void {
  const out = x509 ? `-x509 -days 1 -out ${name}.pem` : `-out ${name}.csr`;
  openssl(dir, `req -newkey rsa:2048 -nodes -subj /CN=${name} -keyout ${name}-key.pem ${out}`);
}

function sign(dir: string, ca: string, name: string, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), ext);
  newKey(dir, name, false);
  openssl(
    dir,
    `x509 -req -in ${name}.csr -CA ${ca}.pem -CAkey ${ca}-key.pem -CAcreateserial -days 1 -extfile ${name}.ext -out ${name}.pem`,
  );
}

/**
 * Test helper: makes the certificates `dockerd --tlsverify` would use, with openssl, in a
 * temporary directory laid out like DOCKER_CERT_PATH.
 */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "keyhole-docker-api-pki-"));
  newKey(dir, "ca", true);
  newKey(dir, "other-ca", true);
  sign(dir, "ca", "server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  sign(dir, "ca", "client", "extendedKeyUsage=clientAuth\n");
  sign(dir, "other-ca", "stranger", "extendedKeyUsage=clientAuth\n");
  const layout = (name: string, ca: string, cert: string) => {
    const d = join(dir, name);
    mkdirSync(d);
    writeFileSync(join(d, "ca.pem"), readFileSync(join(dir, `${ca}.pem`)));
    writeFileSync(join(d, "cert.pem"), readFileSync(join(dir, `${cert}.pem`)));
    writeFileSync(join(d, "key.pem"), readFileSync(join(dir, `${cert}-key.pem`)));
    return d;
  };
  return {
    dir,
    clientDir: layout("client-certs", "ca", "client"),
    strangerDir: layout("stranger-certs", "ca", "stranger"),
    serverCert: join(dir, "server.pem"),
    serverKey: join(dir, "server-key.pem"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Test helper: what `dockerd -H tcp://127.0.0.1:PORT --tlsverify` offers, in front of the real
 * engine's unix socket: a TLS listener on loopback that demands a client certificate signed by
 * the test CA and pipes each connection, bytes unchanged, to the socket.
 */
export async function startTlsProxy(
  pki: TestPki,
  socketPath: string,
): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const open = new Set<Socket>();
  const server = createServer(
    {
      cert: readFileSync(pki.serverCert),
      key: readFileSync(pki.serverKey),
      ca: readFileSync(join(pki.dir, "ca.pem")),
      requestCert: true,
      rejectUnauthorized: true,
      // dockerd honours a half-close (CloseWrite) on a hijacked exec: stdin ends, output flows.
      allowHalfOpen: true,
    },
    (client) => {
      const engine = connect({ path: socketPath, allowHalfOpen: true });
      open.add(client).add(engine);
      client.on("close", () => open.delete(client));
      engine.on("close", () => open.delete(engine));
      client.pipe(engine).pipe(client);
      client.on("error", () => engine.destroy());
      engine.on("error", () => client.destroy());
    },
  );
  server.on("tlsClientError", () => {});
  // Raw TCP sockets, including those still in (or refused at) the handshake.
  server.on("connection", (socket: Socket) => {
    open.add(socket);
    socket.on("close", () => open.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}
