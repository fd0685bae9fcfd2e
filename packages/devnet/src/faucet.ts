import {
  type Address,
  createPublicClient,
  createTestClient,
  createWalletClient,
  getAddress,
  getContractAddress,
  type Hash,
  http,
  isAddress,
  parseEther
} from 'viem'
import { deriveAccount } from './accounts.ts'
import { DEVNET_MNEMONIC, ROLE_INDEX } from './constants.ts'
import { FaucetRequestError, FaucetUnavailableError } from './errors.ts'

/** USDC one faucet call mints by default: 100 USDC, in atomic units (6 decimals). */
export const FAUCET_DEFAULT_USDC = 100_000_000n
/** ETH one faucet call adds by default: 1 ETH, in wei. */
export const FAUCET_DEFAULT_WEI = parseEther('1')
/** Most USDC one faucet call mints: 1,000,000 USDC, in atomic units (6 decimals). */
export const FAUCET_MAX_USDC = 1_000_000_000_000n
/** Most ETH one faucet call adds: 1,000 ETH, in wei. */
export const FAUCET_MAX_WEI = parseEther('1000')

/** The part of `FiatTokenV2_2` the faucet calls (mint through the master minter). */
const minterAbi = [
  { type: 'function', name: 'masterMinter', stateMutability: 'view', inputs: [], outputs: [{ type: 'address' }] },
  {
    type: 'function',
    name: 'minterAllowance',
    stateMutability: 'view',
    inputs: [{ name: 'minter', type: 'address' }],
    outputs: [{ type: 'uint256' }]
  },
  {
    type: 'function',
    name: 'configureMinter',
    stateMutability: 'nonpayable',
    inputs: [
      { name: 'minter', type: 'address' },
      { name: 'minterAllowedAmount', type: 'uint256' }
    ],
    outputs: [{ type: 'bool' }]
  },
  {
    type: 'function',
    name: 'mint',
    stateMutability: 'nonpayable',
    inputs: [
      { name: 'to', type: 'address' },
      { name: 'amount', type: 'uint256' }
    ],
    outputs: [{ type: 'bool' }]
  },
  {
    type: 'function',
    name: 'balanceOf',
    stateMutability: 'view',
    inputs: [{ name: 'account', type: 'address' }],
    outputs: [{ type: 'uint256' }]
  }
] as const

/**
 * Where a devnet started from `mnemonic` has its USDC: the `FiatTokenProxy` is the first contract of the USDC proxy
 * admin, so the address is the same on every start (what `betar-devnet fund` uses without a summary file).
 */
export function devnetUsdcAddress(mnemonic: string = DEVNET_MNEMONIC): Address {
  return getContractAddress({ from: deriveAccount(mnemonic, ROLE_INDEX.usdcProxyAdmin).address, nonce: 0n })
}

/** Options of {@link fundAccount}. */
export interface FundAccountOptions {
  /** JSON-RPC endpoint of a running devnet (anvil); any other node is refused. */
  rpcUrl: string
  /** The devnet's USDC (`FiatTokenProxy`). */
  usdc: Address
  /** Who receives the funds. */
  address: Address
  /** USDC to mint, atomic units (6 decimals), 0…{@link FAUCET_MAX_USDC}. @default {@link FAUCET_DEFAULT_USDC} */
  usdcAtomic?: bigint
  /** ETH to add, in wei, 0…{@link FAUCET_MAX_WEI}. @default {@link FAUCET_DEFAULT_WEI} */
  wei?: bigint
  signal?: AbortSignal
}

/** What {@link fundAccount} did. */
export interface FundAccountResult {
  address: Address
  /** USDC minted and the balance after it (atomic units), with the mint transaction (`null` when none was minted). */
  usdc: { added: bigint; balance: bigint; transaction: Hash | null }
  /** ETH added and the balance after it, in wei (set with `anvil_setBalance`, no transaction). */
  eth: { added: bigint; balance: bigint }
}

/** One faucet call at a time per RPC endpoint in this process: balances are read, then set, and minting is two steps. */
const queues = new Map<string, Promise<unknown>>()

/**
 * The devnet faucet: adds `wei` to `address`'s ETH balance (`anvil_setBalance`) and mints `usdcAtomic` real USDC to
 * it from the token's master minter (impersonated on anvil, so it works whatever mnemonic deployed the devnet).
 *
 * @throws {@link FaucetRequestError} an amount is negative or above its maximum, or the address is not one
 * @throws {@link FaucetUnavailableError} `rpcUrl` is not an anvil node
 */
export function fundAccount(options: FundAccountOptions): Promise<FundAccountResult> {
  const usdcAtomic = options.usdcAtomic ?? FAUCET_DEFAULT_USDC
  const wei = options.wei ?? FAUCET_DEFAULT_WEI
  if (!isAddress(options.address, { strict: false })) {
    return Promise.reject(new FaucetRequestError(`not an address: "${String(options.address).slice(0, 64)}"`))
  }
  if (usdcAtomic < 0n || usdcAtomic > FAUCET_MAX_USDC) {
    return Promise.reject(new FaucetRequestError(`usdc must be 0…${FAUCET_MAX_USDC / 1_000_000n} USDC`))
  }
  if (wei < 0n || wei > FAUCET_MAX_WEI) {
    return Promise.reject(new FaucetRequestError(`eth must be 0…${FAUCET_MAX_WEI / 10n ** 18n} ETH`))
  }
  const previous = queues.get(options.rpcUrl) ?? Promise.resolve()
  const run = previous.catch(() => {}).then(() => fund({ ...options, usdcAtomic, wei }))
  const tail = run.catch(() => {})
  queues.set(options.rpcUrl, tail)
  void tail.then(() => {
    if (queues.get(options.rpcUrl) === tail) queues.delete(options.rpcUrl)
  })
  return run
}

async function fund(options: FundAccountOptions & { usdcAtomic: bigint; wei: bigint }): Promise<FundAccountResult> {
  const { signal } = options
  const address = getAddress(options.address)
  const transport = http(options.rpcUrl)
  const publicClient = createPublicClient({ transport, pollingInterval: 10 })
  const testClient = createTestClient({ mode: 'anvil', transport })
  const token = { address: options.usdc, abi: minterAbi } as const
  signal?.throwIfAborted()
  let version: string
  try {
    version = await publicClient.request({ method: 'web3_clientVersion' })
  } catch (err) {
    throw new FaucetUnavailableError('the devnet RPC does not answer', { cause: err })
  }
  if (!String(version).toLowerCase().startsWith('anvil')) {
    throw new FaucetUnavailableError('the RPC is not the Betar devnet (anvil): the faucet exists only there')
  }

  if ((await publicClient.getCode({ address: options.usdc })) == null) {
    throw new FaucetUnavailableError(`no USDC contract at ${options.usdc} on this devnet`)
  }

  let ethBalance = await publicClient.getBalance({ address })
  if (options.wei > 0n) {
    ethBalance += options.wei
    await testClient.setBalance({ address, value: ethBalance })
  }

  let transaction: Hash | null = null
  if (options.usdcAtomic > 0n) {
    signal?.throwIfAborted()
    const minter = await publicClient.readContract({ ...token, functionName: 'masterMinter' })
    // Impersonation is left on: another process may be minting through the same account at this moment.
    await testClient.impersonateAccount({ address: minter })
    if ((await publicClient.getBalance({ address: minter })) < parseEther('1')) {
      await testClient.setBalance({ address: minter, value: parseEther('1000') })
    }
    const wallet = createWalletClient({ account: minter, transport })
    const allowance = await publicClient.readContract({ ...token, functionName: 'minterAllowance', args: [minter] })
    if (allowance < options.usdcAtomic) {
      const hash = await wallet.writeContract({
        ...token,
        chain: null,
        functionName: 'configureMinter',
        args: [minter, options.usdcAtomic]
      })
      await confirmed(publicClient, hash, 'configureMinter')
    }
    signal?.throwIfAborted()
    transaction = await wallet.writeContract({
      ...token,
      chain: null,
      functionName: 'mint',
      args: [address, options.usdcAtomic]
    })
    await confirmed(publicClient, transaction, 'mint')
  }
  const usdcBalance = await publicClient.readContract({ ...token, functionName: 'balanceOf', args: [address] })
  return {
    address,
    usdc: { added: options.usdcAtomic, balance: usdcBalance, transaction },
    eth: { added: options.wei, balance: ethBalance }
  }
}

async function confirmed(publicClient: ReturnType<typeof createPublicClient>, hash: Hash, step: string): Promise<void> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 10 })
  if (receipt.status !== 'success') throw new FaucetUnavailableError(`the faucet's ${step} transaction reverted`)
}
