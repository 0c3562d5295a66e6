// Types of scripts/provision.mjs for the TypeScript specs that locate the provisioned host.
export const OPENCLAW_VERSION: string;
export const NODE_VERSION: string;
export const cacheDir: string;
export const nodeBin: string;
export const openclawEntry: string;
export function provision(options?: { log?: (message: string) => void }): { nodeBin: string; openclawEntry: string; openclawDir: string; nodeVersion: string; seconds: number };
