/**
 * @packageDocumentation
 *
 * Starts [anvil](https://getfoundry.sh/anvil/overview) — the EVM dev node shipped on npm as `@foundry-rs/anvil` —
 * on a free loopback port, and stops it cleanly. No download happens at run time.
 *
 * @example
 * ```ts
 * import { startAnvil } from '@betar/anvil'
 *
 * const anvil = await startAnvil({ chainId: 31337 })
 * console.log(anvil.rpcUrl) // http://127.0.0.1:40123
 * await anvil.stop()
 * ```
 */

export { type Anvil, type StartAnvilOptions, startAnvil } from './anvil.ts'
export { resolveAnvilBinary } from './binary.ts'
export { ANVIL_MNEMONIC, DEFAULT_CHAIN_ID, DEFAULT_HOST } from './constants.ts'
export { AnvilExitedError, AnvilStartError } from './errors.ts'
