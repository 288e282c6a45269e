// The programs that run *inside* the runner's container. They stand in for a real runner
// image's entrypoint pieces (`gitlab-runner register`, the job) and use only busybox applets
// of the probe image. No network: registering is simulated.

/** Where the scripts are installed in the container (the probe image's `/` is read-only 0555). */
export const REGISTER_PATH = "/var/lib/runner/register";
/** The job the unprivileged runner user runs. */
export const JOB_PATH = "/var/lib/runner/job";
/** Where `register` writes the runner's credentials (readable by the runner user only). */
export const CONFIG_PATH = "/etc/runner/config.toml";

/**
 * A fake `register` command. Like `gitlab-runner register`, it exchanges a one-time
 * registration token for the runner's own credentials. The token arrives on **stdin**, never
 * in argv (which every user sees in `ps`) or in the environment (which every later exec session
 * and `/proc/<pid>/environ` would see). Shell variables are not exported, and `printf` is an
 * ash builtin, so the token never reaches a child's argv or environment either.
 *
 * Usage: `register URL NAME OWNER_UID OWNER_GID [HOLD_FILE] < token-file`.
 * HOLD_FILE lets an observer prove it watched `ps` while the token was in memory: register
 * waits (a bounded number of short sleeps) until that file exists.
 */
export const REGISTER_SCRIPT = `#!/bin/sh
set -eu
url="$1"; name="$2"; owner="$3"; group="$4"; hold="\${5:-}"
IFS= read -r token || [ -n "$token" ]
case "$token" in
  glrt-*) ;;
  *) echo "register: stdin is not a runner registration token (expected glrt-…)" >&2; exit 65 ;;
esac
if [ -n "$hold" ]; then
  i=0
  while [ ! -e "$hold" ] && [ "$i" -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
fi
# Stand-in for the server's answer: an id and a runner token that are not the registration token.
digest=$(printf '%s' "$token" | sha256sum)
token=""
id=$(printf '%s' "$digest" | head -c 8)
auth="glrt-runner-$(printf '%s' "$digest" | tail -c +9 | head -c 32)"
umask 077
mkdir -p /etc/runner
printf 'concurrent = 1\\n\\n[[runners]]\\n  name = "%s"\\n  url = "%s"\\n  id = %s\\n  token = "%s"\\n' \\
  "$name" "$url" "$((0x$id))" "$auth" > ${CONFIG_PATH}
chown "$owner:$group" ${CONFIG_PATH}
chmod 0400 ${CONFIG_PATH}
# Last: once the runner user owns the directory, root (without CAP_DAC_OVERRIDE) cannot write in it.
chown "$owner:$group" /etc/runner
echo "registered runner $name (id $((0x$id))) at $url"
`;

/**
 * The job, run as the unprivileged runner user. It proves it has its credentials, then tries
 * every place the registration token could still be read from and prints what it got, one
 * section per place. The host compares each section with the token (the job cannot know it).
 * Usage: `job TOKEN_FILE CONFIG_FILE`.
 */
export const JOB_SCRIPT = `#!/bin/sh
echo "== whoami"; id
echo "== config"; if grep -q '^  token = "glrt-runner-' "$2"; then echo "have runner credentials"; else echo "NO CREDENTIALS"; fi
echo "== token-file"; cat "$1" 2>&1; echo
echo "== env"; env
echo "== proc-1-environ"; tr '\\0' '\\n' < /proc/1/environ 2>&1; echo
echo "== proc-self-environ"; tr '\\0' '\\n' < /proc/self/environ 2>&1; echo
echo "== ps"; ps -o user,args 2>&1
echo "== end"
`;

/**
 * Watches `ps` as another user while `register` runs: appends every sample to LOG and creates
 * SEEN once it has seen the register process (so register may finish), and stops when STOP
 * exists (bounded). Run with `su -s /bin/sh bob -c SCRIPT sh LOG SEEN STOP`. busybox `ps` prefixes
 * a process whose name differs from argv[0] with `{name}`, e.g. `{register} /bin/sh /var/lib/…`.
 */
export const PS_WATCH_SCRIPT = `
log="$1"; seen="$2"; stop="$3"; i=0
while [ ! -e "$stop" ] && [ "$i" -lt 2000 ]; do
  ps -o user,args > "$log.now" 2>&1
  cat "$log.now" >> "$log"
  if grep -qE '^root +(\\{[^}]*\\} )?[^ ]*sh /var/lib/runner/registe[r] ' "$log.now"; then : > "$seen"; fi
  i=$((i + 1))
done
rm -f "$log.now"
`;

/**
 * Root's init step: starts the `ps` watcher as bob, registers with the token **redirected from
 * the root-only file** (so it is stdin, not argv), stops the watcher. `$1` is the token file.
 */
export const INIT_SCRIPT = `
token_file="$1"; url="$2"; name="$3"; owner="$4"; group="$5"; watch="$6"
d=$(mktemp -d /tmp/watch.XXXXXX); chmod 0777 "$d"
su -s /bin/sh bob -c "$watch" sh "$d/ps.log" "$d/seen" "$d/stop" &
watcher=$!
rc=0
${REGISTER_PATH} "$url" "$name" "$owner" "$group" "$d/seen" < "$token_file" || rc=$?
: > "$d/stop"
wait "$watcher"
echo "== ps-log $d/ps.log"
exit "$rc"
`;
