/**
 * What machine a set of results came from: ratios travel between machines far better than
 * absolute numbers, but a table is only reproducible with its CPU and Bun version.
 */
import os from "node:os";

export interface MachineInfo {
  cpu: string;
  cores: number;
  bun: string;
  os: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    bun: `${Bun.version} (${Bun.revision.slice(0, 9)})`,
    os: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
}

/** One line for humans: "AMD EPYC, 2 cores, Bun 1.4.5 (abcdef012), linux 6.1 x64". */
export function describeMachine(machine: MachineInfo): string {
  return `${machine.cpu}, ${machine.cores} cores, Bun ${machine.bun}, ${machine.os}`;
}
