// The Debian packages keyhole's engines and tests need, and how to install the missing ones.
import { readFileSync } from "node:fs";
import { run } from "./exec.mjs";

/** The Debian releases keyhole knows, by major version of /etc/debian_version. */
export const SUITES = { 12: "bookworm", 13: "trixie" };

/**
 * The suite of the running system from /etc/debian_version ("12.11" -> bookworm, "13.1" or
 * "trixie/sid" -> trixie); undefined on anything else.
 */
export function debianSuite(text = readDebianVersion()) {
  const t = (text ?? "").trim();
  const major = /^(\d+)\./.exec(t)?.[1];
  if (major && SUITES[major]) return SUITES[major];
  const codename = /^([a-z]+)\//.exec(t)?.[1];
  return Object.values(SUITES).includes(codename) ? codename : undefined;
}

function readDebianVersion() {
  try {
    return readFileSync("/etc/debian_version", "utf8");
  } catch {
    return undefined;
  }
}

/**
 * What keyhole needs on a Debian release. `purpose: "host"` is the machine keyhole runs on
 * (REQUIRED_PACKAGES, chromium included); `"set"` is an engine set's root filesystem (no
 * chromium, installed without Recommends, so the packages Recommends would bring are named).
 * trixie's docker.io no longer ships the client (docker-cli), and its netavark needs nftables.
 * trixie's docker-compose is Compose v2 (the `docker compose` plugin, 2.26), which the compose
 * backends run; bookworm's is Compose v1 (1.29, dead upstream), so it is not installed there.
 */
export function requiredPackages(suite = debianSuite(), purpose = "host") {
  const base =
    purpose === "host" ? REQUIRED_PACKAGES : REQUIRED_PACKAGES.filter((p) => p !== "chromium");
  const extra = {
    trixie: [
      "docker-cli",
      "docker-compose",
      ...(purpose === "set" ? ["nftables", "aardvark-dns"] : []),
    ],
    bookworm: purpose === "set" ? ["containernetworking-plugins"] : [],
  };
  const set = purpose === "set" ? ["iproute2", "iptables", "ca-certificates", "nodejs"] : [];
  return [...new Set([...base, ...(extra[suite] ?? []), ...set])];
}

/**
 * podman + runc (crun fails on this VM's hybrid cgroups), docker.io (dockerd + the 20.10
 * client), pass + gnupg (podman's pass secret driver), busybox-static (the probe image),
 * chromium (renders the HTML report in tests).
 */
export const REQUIRED_PACKAGES = [
  "podman",
  "runc",
  "docker.io",
  "pass",
  "gnupg",
  "busybox-static",
  "chromium",
];

/** The packages of `wanted` that dpkg does not report as installed. */
export function missingPackages(wanted = REQUIRED_PACKAGES) {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax.
  const r = run("dpkg-query", ["-W", "-f=${Package} ${db:Status-Status}\n", ...wanted]);
  if (r.code === 127) return [...wanted];
  const installed = new Set(
    r.stdout
      .split("\n")
      .map((line) => line.split(" "))
      .filter(([, status]) => status === "installed")
      .map(([name]) => name),
  );
  return wanted.filter((p) => !installed.has(p));
}

/** The exact command a non-root user should run. */
export function installCommand(packages) {
  return `sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y ${packages.join(" ")}`;
}

/**
 * Installs `packages` with apt (root only). Debian's policy-rc.d may stop the postinst from
 * starting dockerd; that is fine, provisioning starts it.
 */
export function installPackages(packages, { recommends = true, stdio } = {}) {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const update = run("apt-get", ["update"], {
    env,
    timeout: 600_000,
    stdio: stdio ?? ["ignore", "inherit", "inherit"],
  });
  if (update.code !== 0) return { ok: false, step: "apt-get update" };
  const args = ["install", "-y", ...(recommends ? [] : ["--no-install-recommends"]), ...packages];
  const install = run("apt-get", args, {
    env,
    timeout: 1_800_000,
    stdio: stdio ?? ["ignore", "inherit", "inherit"],
  });
  return { ok: install.code === 0, step: "apt-get install" };
}
