// Debian's chromium, driven by playwright-core. No test tool can download its own browser on
// these machines: `apt-get install chromium` (CI does it in .ci/run), or point CHROMIUM_PATH
// at another Chromium/Chrome binary.
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The binary if it is there, else null (the caller skips with a message). */
export function findChromium(): string | null {
  try {
    fs.accessSync(CHROMIUM_PATH, fs.constants.X_OK);
    return CHROMIUM_PATH;
  } catch {
    return null;
  }
}

/**
 * Headless, as root on a closed network: no sandbox (root), no GPU, and none of the background
 * traffic (updates, sync, QUIC, first-run) that would flood the network with refused connections.
 * playwright-core gives every launch a new empty profile (user-data dir) of its own.
 */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
