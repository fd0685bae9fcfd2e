#!/usr/bin/env node
// Runs one of the workspace's command-line tools from its TypeScript sources, so `pnpm betar …`,
// `pnpm betar-devnet …` and `pnpm betar-conformance …` work from the repository root right after
// `pnpm install` (no build needed). Usage: node scripts/bin.mjs <tool> [args…]
//
// The tool runs in the directory pnpm was started from (INIT_CWD), so relative paths such as
// `--devnet devnet.json` mean what the user typed. Its exit code (or signal) is passed on.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const TOOLS = {
  betar: '../examples/full-node/src/cli/bin.ts',
  'betar-devnet': '../packages/devnet/src/bin.ts',
  'betar-conformance': '../packages/x402-libp2p/src/cli/bin.ts'
}

const [tool, ...args] = process.argv.slice(2)
const entry = TOOLS[tool ?? '']
if (entry == null) {
  process.stderr.write(`usage: node scripts/bin.mjs <${Object.keys(TOOLS).join('|')}> [args…]\n`)
  process.exit(2)
}

const child = spawn(
  process.execPath,
  [
    '--conditions=@betar/source',
    '--import',
    import.meta.resolve('tsx'),
    fileURLToPath(new URL(entry, import.meta.url)),
    ...args
  ],
  { cwd: process.env.INIT_CWD || process.cwd(), stdio: 'inherit' }
)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal))
}
child.on('exit', (code, signal) => {
  if (signal != null) {
    process.removeAllListeners(signal)
    process.kill(process.pid, signal)
  } else process.exit(code ?? 1)
})
