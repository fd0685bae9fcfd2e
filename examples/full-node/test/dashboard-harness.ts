import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium } from 'playwright-core'

const PACKAGE = fileURLToPath(new URL('..', import.meta.url))

/** Debian's chromium (`apt-get install -y chromium`; `.ci/run` installs it): never a downloaded browser. */
export const CHROMIUM = process.env.BETAR_CHROMIUM ?? '/usr/bin/chromium'

/** Where the browser tests leave their screenshots (git-ignored). */
export const ARTIFACTS = join(PACKAGE, 'test-artifacts', 'dashboard')

/**
 * Builds the dashboard with vite into `dist/dashboard` (what the node serves), offline, as `pnpm build` does: the
 * test runs on a fresh clone without a prior build.
 */
export function buildDashboard(): void {
  const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js')
  const res = spawnSync(process.execPath, [vite, 'build', '--config', join(PACKAGE, 'dashboard', 'vite.config.ts')], {
    cwd: PACKAGE,
    encoding: 'utf8',
    timeout: 60_000
  })
  if (res.status !== 0) throw new Error(`vite build failed (${res.status}): ${res.stderr}${res.stdout}`)
}

/** Starts headless Chromium with the flags this machine needs (no sandbox as root, no background networking). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`)
  mkdirSync(ARTIFACTS, { recursive: true })
  // playwright gives each launch a new empty profile (its own --user-data-dir under the temp dir).
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync'
    ]
  })
}
