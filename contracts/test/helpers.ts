import { readFileSync } from 'node:fs'
import { ANVIL_MNEMONIC, type Anvil, startAnvil } from '@betar/anvil'
import {
  type Abi,
  type Account,
  BaseError,
  type Chain,
  ContractFunctionRevertedError,
  createPublicClient,
  createTestClient,
  createWalletClient,
  decodeErrorResult,
  getAddress,
  type Hash,
  http,
  type PublicClient,
  type TestClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient
} from 'viem'
import { type HDAccount, mnemonicToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest'
import { compileSolidity } from '../scripts/solc.ts'
import { identityRegistryAbi, multicall3Abi, reputationRegistryAbi, validationRegistryAbi } from '../src/index.ts'

/** A wallet client bound to one anvil dev account. */
export type Wallet = WalletClient<Transport, Chain, HDAccount>

/** One anvil per test file, with clients, and a snapshot taken before each test and reverted after it. */
export interface Chain31337 {
  readonly anvil: Anvil
  readonly publicClient: PublicClient<Transport, Chain>
  readonly testClient: TestClient<'anvil', Transport, Chain>
  /** Wallets of the dev accounts 0..5. */
  readonly wallets: readonly [Wallet, Wallet, Wallet, Wallet, Wallet, Wallet]
}

const ACCOUNTS = 6

/**
 * Registers vitest hooks that start anvil once for the file (calling `setup` after it, e.g. to deploy) and isolate
 * every test with `evm_snapshot` / `evm_revert`. The returned object is filled in by `beforeAll`.
 */
export function useChain(setup?: (chain: Chain31337) => Promise<void>): Chain31337 {
  const chain = {} as { -readonly [K in keyof Chain31337]: Chain31337[K] }
  let snapshot: `0x${string}` | undefined
  beforeAll(async () => {
    chain.anvil = await startAnvil()
    const transport = http(chain.anvil.rpcUrl)
    chain.publicClient = createPublicClient({ chain: foundry, transport, pollingInterval: 50 })
    chain.testClient = createTestClient({ chain: foundry, mode: 'anvil', transport, pollingInterval: 50 })
    const wallets = Array.from({ length: ACCOUNTS }, (_, addressIndex) =>
      createWalletClient({
        account: mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex }),
        chain: foundry,
        transport,
        pollingInterval: 50
      })
    )
    chain.wallets = wallets as unknown as Chain31337['wallets']
    await setup?.(chain)
  })
  afterAll(async () => {
    await chain.anvil?.stop()
  })
  beforeEach(async () => {
    snapshot = await chain.testClient.snapshot()
  })
  afterEach(async () => {
    if (snapshot != null) await chain.testClient.revert({ id: snapshot })
  })
  return chain
}

/** Waits for a transaction and asserts it succeeded. */
export async function mined(publicClient: PublicClient, hash: Hash | Promise<Hash>): Promise<TransactionReceipt> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash })
  expect(receipt.status).toBe('success')
  return receipt
}

/** Deploys a contract from `wallet` and returns its address. */
export async function deploy(
  publicClient: PublicClient,
  wallet: WalletClient<Transport, Chain, Account>,
  params: { abi: Abi; bytecode: `0x${string}`; args?: readonly unknown[] }
): Promise<`0x${string}`> {
  const hash = await wallet.deployContract({ abi: params.abi, bytecode: params.bytecode, args: params.args ?? [] })
  const receipt = await mined(publicClient, hash)
  expect(receipt.contractAddress).toMatch(/^0x[0-9a-fA-F]{40}$/)
  return getAddress(receipt.contractAddress!)
}

/** Every error our contracts (and the OpenZeppelin code they use) can raise, for decoding bubbled-up reverts. */
const ALL_ERRORS = [
  ...identityRegistryAbi,
  ...reputationRegistryAbi,
  ...validationRegistryAbi,
  ...multicall3Abi
].filter((item) => item.type === 'error')

/**
 * Asserts that `action` fails with a contract revert whose `Error(string)` reason, or custom error name, is `expected`.
 */
export async function expectRevert(action: Promise<unknown>, expected: string): Promise<void> {
  const err = await action.then(
    () => undefined,
    (e: unknown) => e
  )
  expect(err, `expected a revert with "${expected}"`).toBeInstanceOf(BaseError)
  const revert = (err as BaseError).walk((e) => e instanceof ContractFunctionRevertedError)
  expect(revert, String(err)).toBeInstanceOf(ContractFunctionRevertedError)
  const { data, raw, reason } = revert as ContractFunctionRevertedError
  let name = reason ?? data?.errorName
  if (name == null && raw != null) name = decodeErrorResult({ abi: ALL_ERRORS, data: raw }).errorName
  expect(name).toBe(expected)
}

/** Compiles `test/fixtures/Erc1271Wallet.sol` (once per test file). */
export function compileErc1271Wallet(): { abi: Abi; bytecode: `0x${string}` } {
  const unit = 'test/fixtures/Erc1271Wallet.sol'
  const source = readFileSync(new URL('./fixtures/Erc1271Wallet.sol', import.meta.url), 'utf8')
  const contract = compileSolidity({ [unit]: source }).contracts[unit]?.Erc1271Wallet
  if (contract == null) throw new Error('Erc1271Wallet missing from the solc output')
  return { abi: contract.abi as Abi, bytecode: contract.bytecode }
}
