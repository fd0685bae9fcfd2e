import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { AnvilStartError } from './errors.ts'

const require = createRequire(import.meta.url)

const PLATFORMS: Record<string, string> = {
  'linux-x64': 'linux-amd64',
  'linux-arm64': 'linux-arm64',
  'darwin-x64': 'darwin-amd64',
  'darwin-arm64': 'darwin-arm64',
  'win32-x64': 'win32-amd64'
}

/**
 * Path of the native anvil binary that `@foundry-rs/anvil` installs as a platform package.
 * Spawning it directly skips the package's node wrapper (one process and ~50 ms less per start).
 */
export function resolveAnvilBinary(): string {
  const platform = PLATFORMS[`${process.platform}-${process.arch}`]
  if (platform == null) throw new AnvilStartError(`no anvil build for ${process.platform}-${process.arch}`)
  try {
    const wrapper = dirname(require.resolve('@foundry-rs/anvil/package.json'))
    const pkg = dirname(require.resolve(`@foundry-rs/anvil-${platform}/package.json`, { paths: [wrapper] }))
    const bin = join(pkg, 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil')
    if (existsSync(bin)) return bin
  } catch {
    // fall through to the error below
  }
  throw new AnvilStartError(`@foundry-rs/anvil-${platform} is not installed; reinstall @foundry-rs/anvil`)
}
