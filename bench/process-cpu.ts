/**
 * CPU time of another process (a server under load), for the suites that measure one from
 * outside. Linux only: it reads /proc.
 */
import { readdirSync, readFileSync } from "node:fs";

const CLOCK_TICKS = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString()) || 100;

/**
 * CPU time of process `pid` so far, every thread, in ns: the sum of each thread's run time
 * in `/proc/<pid>/task/<tid>/schedstat` (ns resolution), else utime + stime from
 * `/proc/<pid>/stat` (10 ms ticks, too coarse for short runs to agree within 5%).
 */
export function processCpu(pid: number): number {
  try {
    let total = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    }
    if (total > 0) return total;
  } catch {
    // No schedstat (or a thread ended while being read): fall back to the ticks.
  }
  // Fields after the command name (which is in parentheses): utime and stime are 14 and 15.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1e9) / CLOCK_TICKS;
}
