import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import solc from 'solc'

const require = createRequire(import.meta.url)

/** A hex string as viem types it. */
export type Hex = `0x${string}`

/** One compiled contract: what deploying and calling it needs. */
export interface CompiledContract {
  /** The JSON ABI as solc emits it. */
  readonly abi: readonly unknown[]
  /** Creation bytecode (constructor included, arguments not). */
  readonly bytecode: Hex
  /** Runtime bytecode, as stored on chain after deployment (immutables left as zeros). */
  readonly deployedBytecode: Hex
}

/** The result of {@link compileSolidity}. */
export interface CompiledSources {
  /** Compiled contracts by source unit name, then by contract name. */
  readonly contracts: Record<string, Record<string, CompiledContract>>
  /** Formatted warning diagnostics, with the source unit each one points at (`''` when none). */
  readonly warnings: ReadonlyArray<{ readonly unit: string; readonly message: string }>
}

/** A diagnostic from solc's standard-JSON output. */
interface SolcError {
  severity: 'error' | 'warning' | 'info'
  formattedMessage: string
  sourceLocation?: { file: string }
}

interface SolcOutput {
  errors?: SolcError[]
  contracts?: Record<
    string,
    Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>
  >
}

/** The settings every contract of this package is compiled with. */
export const SOLC_SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } }
} as const

/** The version string of the bundled solc-js, e.g. `0.8.37+commit.f401782d.Emscripten.clang`. */
export function solcVersion(): string {
  return solc.version() as string
}

/** Resolves `@openzeppelin/contracts/...` (or any other npm package path) from node_modules. */
function findImport(path: string): { contents: string } | { error: string } {
  try {
    return { contents: readFileSync(require.resolve(path), 'utf8') }
  } catch (err) {
    return { error: `cannot resolve import ${path}: ${(err as Error).message}` }
  }
}

/**
 * Compiles Solidity sources in-process with npm `solc` (standard JSON) and {@link SOLC_SETTINGS}.
 * Imports that are not among `sources` resolve from node_modules. Throws on any error-severity diagnostic.
 *
 * @param sources source unit name (e.g. `solidity/Multicall3.sol`) → source text
 */
export function compileSolidity(sources: Record<string, string>): CompiledSources {
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(sources).map(([name, content]) => [name, { content }])),
    settings: SOLC_SETTINGS
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }) as string) as SolcOutput
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0) {
    throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`)
  }
  const compiled: Record<string, Record<string, CompiledContract>> = {}
  for (const [unit, contracts] of Object.entries(output.contracts ?? {})) {
    const byName: Record<string, CompiledContract> = {}
    for (const [name, c] of Object.entries(contracts)) {
      byName[name] = {
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`
      }
    }
    compiled[unit] = byName
  }
  const warnings = (output.errors ?? [])
    .filter((e) => e.severity === 'warning')
    .map((e) => ({ unit: e.sourceLocation?.file ?? '', message: e.formattedMessage }))
  return { contracts: compiled, warnings }
}
