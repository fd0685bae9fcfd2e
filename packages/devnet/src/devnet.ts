import { type Anvil, startAnvil } from '@betar/anvil'
import { deployErc8004Registries, MULTICALL3_ADDRESS, multicall3DeployedBytecode } from '@betar/contracts'
import {
  type Address,
  type Chain,
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  http,
  type LocalAccount,
  type PublicClient,
  parseEther
} from 'viem'
import { type DevnetAccount, deriveAccount } from './accounts.ts'
import {
  DEFAULT_ACCOUNTS,
  DEFAULT_ETH_PER_ACCOUNT,
  DEFAULT_USDC_PER_ACCOUNT,
  DEVNET_MNEMONIC,
  ROLE_INDEX,
  USDC_DECIMALS,
  USDC_NAME,
  USDC_VERSION
} from './constants.ts'
import { DevnetDeployError } from './errors.ts'
import type { BetarNetwork } from './networks.ts'
import { deployUsdc } from './usdc.ts'

/** Options for {@link startDevnet}. */
export interface StartDevnetOptions {
  /** Number of funded user accounts (HD indexes 0…n-1). @default 10 */
  accounts?: number
  /** USDC (6-decimal units) minted to each account. @default 10_000 USDC */
  usdcPerAccount?: bigint
  /** ETH per account, in whole ether. @default 10000 */
  ethPerAccount?: number
  /** @default 31337 */
  chainId?: number
  /** @default anvil's `test test … junk` */
  mnemonic?: string
  /** Loopback port; 0 picks a free one. @default 0 */
  port?: number
  /**
   * Seconds between blocks once the devnet is deployed, like a real chain (anvil interval mining); every transaction
   * then waits for the next block. Deployment itself always uses automine. @default undefined (automine: one block per
   * transaction)
   */
  blockTime?: number
  /** Aborts start-up; anything already started is stopped. */
  signal?: AbortSignal
}

/** Addresses of everything the devnet deploys. */
export interface DevnetContracts {
  /** `FiatTokenProxy` in front of `FiatTokenV2_2`: call USDC here. */
  readonly usdc: Address
  readonly identityRegistry: Address
  readonly reputationRegistry: Address
  readonly validationRegistry: Address
  /** The canonical Multicall3 address, so viem batching works unchanged. */
  readonly multicall3: Address
}

/** A running devnet. */
export interface Devnet {
  readonly rpcUrl: string
  readonly chainId: number
  /** A viem chain for this devnet (with Multicall3 configured). */
  readonly chain: Chain
  readonly contracts: DevnetContracts
  /** Funded user accounts (ETH + USDC). Their keys are public: never use them on a real chain. */
  readonly accounts: readonly DevnetAccount[]
  /** Infrastructure accounts: the contract deployer and the USDC owner/minter (it can mint more). */
  readonly roles: { readonly deployer: DevnetAccount; readonly usdcOwner: DevnetAccount }
  /** This devnet described the same way as a public network, for code that takes a {@link BetarNetwork}. */
  readonly network: BetarNetwork
  readonly anvil: Anvil
  /** A JSON-friendly summary (addresses, keys, URLs). */
  toJSON(): DevnetSummary
  /** Stops anvil. Idempotent. */
  stop(): Promise<void>
}

/** What {@link Devnet.toJSON} returns. */
export interface DevnetSummary {
  rpcUrl: string
  chainId: number
  network: `eip155:${number}`
  contracts: DevnetContracts
  usdc: BetarNetwork['usdc']
  accounts: Array<{ index: number; address: Address; privateKey: `0x${string}` }>
}

/**
 * Starts the embedded Betar devnet: anvil on a free loopback port with real USDC (`FiatTokenV2_2`), Multicall3 and
 * the ERC-8004 Identity/Reputation/Validation registries, and N funded accounts. Contract addresses are the same on
 * every start with the same mnemonic.
 *
 * @example
 * ```ts
 * const devnet = await startDevnet({ accounts: 3 })
 * const [buyer, seller] = devnet.accounts
 * // … use devnet.rpcUrl, devnet.chain, devnet.contracts.usdc …
 * await devnet.stop()
 * ```
 */
export async function startDevnet(options: StartDevnetOptions = {}): Promise<Devnet> {
  const count = options.accounts ?? DEFAULT_ACCOUNTS
  const mnemonic = options.mnemonic ?? DEVNET_MNEMONIC
  const signal = options.signal
  if (!Number.isInteger(count) || count < 0 || count > ROLE_INDEX.deployer) {
    throw new RangeError(`accounts must be an integer in 0…${ROLE_INDEX.deployer}`)
  }

  const anvil = await startAnvil({
    accounts: count,
    balance: options.ethPerAccount ?? DEFAULT_ETH_PER_ACCOUNT,
    mnemonic,
    ...(options.chainId != null ? { chainId: options.chainId } : {}),
    ...(options.port != null ? { port: options.port } : {}),
    ...(signal != null ? { signal } : {})
  })

  try {
    const chain = defineChain({
      id: anvil.chainId,
      name: 'Betar Devnet',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [anvil.rpcUrl] } },
      contracts: { multicall3: { address: MULTICALL3_ADDRESS } },
      testnet: true
    })
    const transport = http(anvil.rpcUrl)
    const publicClient: PublicClient = createPublicClient({ chain, transport, pollingInterval: 10 })
    const testClient = createTestClient({ chain, transport, mode: 'anvil' })
    const wallet = (account: LocalAccount) => createWalletClient({ account, chain, transport })

    const accounts = Array.from({ length: count }, (_, i) => deriveAccount(mnemonic, i))
    const deployer = deriveAccount(mnemonic, ROLE_INDEX.deployer)
    const proxyAdmin = deriveAccount(mnemonic, ROLE_INDEX.usdcProxyAdmin)
    const usdcOwner = deriveAccount(mnemonic, ROLE_INDEX.usdcOwner)
    for (const role of [deployer, proxyAdmin, usdcOwner]) {
      await testClient.setBalance({ address: role.address, value: parseEther('1000') })
    }

    await testClient.setCode({ address: MULTICALL3_ADDRESS, bytecode: multicall3DeployedBytecode })
    const registries = await deployErc8004Registries(
      { walletClient: wallet(deployer.account), publicClient },
      signal != null ? { signal } : {}
    )
    const usdc = await deployUsdc(
      publicClient,
      { deployer: wallet(deployer.account), proxyAdmin: wallet(proxyAdmin.account), owner: wallet(usdcOwner.account) },
      accounts.map((a) => ({ to: a.address, amount: options.usdcPerAccount ?? DEFAULT_USDC_PER_ACCOUNT })),
      signal
    )

    if (options.blockTime != null) {
      if (!(options.blockTime > 0)) throw new RangeError('blockTime must be > 0 seconds')
      await testClient.setAutomine(false)
      await testClient.setIntervalMining({ interval: options.blockTime })
    }

    const contracts: DevnetContracts = { usdc, ...registries, multicall3: MULTICALL3_ADDRESS }
    const network: BetarNetwork = {
      name: 'devnet',
      chainId: anvil.chainId,
      caip2: `eip155:${anvil.chainId}`,
      rpcUrl: anvil.rpcUrl,
      usdc: { address: usdc, name: USDC_NAME, version: USDC_VERSION, decimals: USDC_DECIMALS },
      erc8004: registries
    }
    return {
      rpcUrl: anvil.rpcUrl,
      chainId: anvil.chainId,
      chain,
      contracts,
      accounts,
      roles: { deployer, usdcOwner },
      network,
      anvil,
      toJSON: () => ({
        rpcUrl: anvil.rpcUrl,
        chainId: anvil.chainId,
        network: network.caip2,
        contracts,
        usdc: network.usdc,
        accounts: accounts.map(({ index, address, privateKey }) => ({ index, address, privateKey }))
      }),
      stop: () => anvil.stop()
    }
  } catch (err) {
    await anvil.stop()
    if (err instanceof DevnetDeployError || signal?.aborted === true) throw err
    throw new DevnetDeployError((err as Error).message, { cause: err })
  }
}
