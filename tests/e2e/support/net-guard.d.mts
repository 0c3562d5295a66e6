// Types for net-guard.mjs (the preload's log readers).
export type NetGuardEntry = { ts: string; pid: number; argv1: string; kind: "dns" | "tcp" | "udp"; target: string; stack?: string[] };
export const KNOWN_HOST_NOISE: { kind: string; target: string | RegExp }[];
export function isLoopback(host: unknown): boolean;
export function readNetGuardLog(file: string): NetGuardEntry[];
export function assertNoEgress(file: string, opts?: { ignore?: { kind: string; target: string | RegExp }[] }): void;
