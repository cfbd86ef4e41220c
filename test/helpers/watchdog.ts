// The per-process scratch directory that test servers live in, and the watchdog that stops them
// and removes it once the process that started them is gone, however it went (even SIGKILL).
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The pid files servers write under the scratch root; the watchdog stops exactly these processes. */
export const PID_FILES = { postgres: 'postmaster.pid', redis: 'redis.pid', mariadb: 'mariadbd.pid', slapd: 'slapd.pid' } as const;

// `cat` returns at EOF on its stdin, a pipe whose write end only the owning process holds (Node
// opens it close-on-exec), so the kernel closes it when that process dies. The command-line check
// guards against a stale pid file naming a pid the system has since given to someone else.
// PostgreSQL gets SIGQUIT (immediate shutdown: the postmaster takes its backends down with it),
// and SIGKILL only if it has not gone within 5 s. The servers were our parent's children, so they
// are now init's: a zombie waiting to be reaped counts as gone. /proc where it exists, else ps.
const SCRIPT = `
cat >/dev/null
cmd() { if [ -r /proc/$1/cmdline ]; then tr '\\0' ' ' < /proc/$1/cmdline; else ps -o command= -p "$1"; fi 2>/dev/null; }
state() { if [ -r /proc/$1/status ]; then sed -n 's/^State:[[:space:]]*//p' /proc/$1/status; else ps -o stat= -p "$1"; fi 2>/dev/null; }
alive() { kill -0 "$1" 2>/dev/null && case "$(state "$1")" in Z*) false ;; esac; }
pids=$(find "$1" -maxdepth 4 \\( -name ${PID_FILES.postgres} -o -name ${PID_FILES.redis} -o -name ${PID_FILES.mariadb} -o -name ${PID_FILES.slapd} \\) 2>/dev/null |
while IFS= read -r f; do
  pid=$(head -n 1 "$f" 2>/dev/null)
  case "$pid" in ''|*[!0-9]*) continue ;; esac
  case "$(cmd "$pid")" in *postgres*|*redis-server*|*mariadbd*|*slapd*) ;; *) continue ;; esac
  case "$f" in *${PID_FILES.postgres}) sig=QUIT ;; *) sig=KILL ;; esac
  kill -s $sig "$pid" 2>/dev/null && echo "$pid"
done)
for pid in $pids; do
  i=0
  while alive "$pid" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  alive "$pid" && kill -s KILL "$pid" 2>/dev/null
done
rm -rf "$1"
`;

let root: string | undefined;

/**
 * This process's scratch directory, created and guarded by a watchdog on first use. Servers put
 * their data dirs (with pid files) inside it. It is world-traversable (0711) because PostgreSQL
 * runs as the `postgres` user when we are root and must reach its data dir below it.
 */
export function scratchRoot(): string {
  if (root) return root;
  const dir = mkdtempSync(join(tmpdir(), `rotor-test-${process.pid}-`));
  chmodSync(dir, 0o711);
  const watchdog = spawn('sh', ['-c', SCRIPT, 'rotor-test-watchdog', dir], {
    // Its own process group, so a Ctrl-C aimed at the test run does not take the watchdog down
    // before it has cleaned up.
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  // Neither the watchdog nor its pipe may keep this process alive: it is meant to outlive us.
  watchdog.unref();
  if (watchdog.stdin instanceof Socket) watchdog.stdin.unref();
  watchdog.stdin?.on('error', () => undefined);
  root = dir;
  return dir;
}
