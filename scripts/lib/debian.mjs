// The Debian packages keyhole's engines and tests need, and how to install the missing ones.
import { run } from "./exec.mjs";

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
export function installPackages(packages) {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const update = run("apt-get", ["update"], {
    env,
    timeout: 600_000,
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (update.code !== 0) return { ok: false, step: "apt-get update" };
  const install = run("apt-get", ["install", "-y", ...packages], {
    env,
    timeout: 1_800_000,
    stdio: ["ignore", "inherit", "inherit"],
  });
  return { ok: install.code === 0, step: "apt-get install" };
}
