import type { ChildProcess } from 'node:child_process';

const owned = new Set<ChildProcess>();
let hooked = false;

/**
 * Kills `child` (by its pid, SIGKILL after SIGCONT) if this process exits
 * while it still runs: a test that times out or throws before its cleanup
 * must not leave a private redis-server behind on a shared machine.
 */
export function own(child: ChildProcess): ChildProcess {
  owned.add(child);
  child.once('exit', () => owned.delete(child));
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const process of owned) {
        process.kill('SIGCONT');
        process.kill('SIGKILL');
      }
    });
  }
  return child;
}
