// What the numbers were measured on: they only mean something next to the machine.
import { cpus, totalmem, freemem, loadavg, platform, release, availableParallelism } from "node:os";

export function machine() {
  const cpu = cpus()[0];
  return {
    nproc: availableParallelism(),
    cpuModel: cpu?.model?.trim() ?? "unknown",
    totalMemMB: Math.round(totalmem() / 2 ** 20),
    freeMemMB: Math.round(freemem() / 2 ** 20),
    loadavg1: Math.round(loadavg()[0] * 100) / 100,
    node: process.version,
    os: `${platform()} ${release()}`,
  };
}

export function describeMachine(m) {
  return `${m.nproc} CPU (${m.cpuModel}), ${(m.totalMemMB / 1024).toFixed(1)} GB RAM, Node ${m.node}, ${m.os}, load ${m.loadavg1}`;
}
