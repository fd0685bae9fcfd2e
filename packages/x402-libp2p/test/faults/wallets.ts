import { readFileSync } from 'node:fs'
import { usdcAbi } from '@betar/devnet'
import solc from 'solc'
import {
  type Abi,
  type Address,
  concat,
  createWalletClient,
  type Hex,
  hashTypedData,
  http,
  type LocalAccount,
  numberToHex,
  size,
  slice
} from 'viem'
import type { PaymentSigner } from '../../src/index.ts'
import type { Chain } from '../fixtures/chain.ts'

/** The contract wallets of `contracts/TestWallets.sol`. */
export type WalletContract = 'OwnedWallet' | 'GasPriceGatedWallet' | 'GasBurnerWallet' | 'ToggleWallet'

/** Every test contract: the wallets, `GasBurnerDelegate` (an EIP-7702 delegate) and `Batch` (`contracts/Batch.sol`). */
export type TestContract = WalletContract | 'GasBurnerDelegate' | 'Batch'

interface Compiled {
  abi: Abi
  bytecode: Hex
}

let compiled: Record<TestContract, Compiled> | undefined

/** Compiles `contracts/*.sol` with npm solc (once per process). */
export function testContracts(): Record<TestContract, Compiled> {
  if (compiled != null) return compiled
  const read = (file: string) => ({ content: readFileSync(new URL(`./contracts/${file}`, import.meta.url), 'utf8') })
  const input = {
    language: 'Solidity',
    sources: { 'TestWallets.sol': read('TestWallets.sol'), 'Batch.sol': read('Batch.sol') },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'cancun',
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } }
    }
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: Array<{ severity: string; formattedMessage: string }>
    contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>
  }
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join('\n'))
  const pick = (unit: string, name: TestContract): Compiled => {
    const c = output.contracts[unit]?.[name]
    if (c == null) throw new Error(`solc produced no ${name}`)
    return { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` }
  }
  compiled = {
    OwnedWallet: pick('TestWallets.sol', 'OwnedWallet'),
    GasPriceGatedWallet: pick('TestWallets.sol', 'GasPriceGatedWallet'),
    GasBurnerWallet: pick('TestWallets.sol', 'GasBurnerWallet'),
    ToggleWallet: pick('TestWallets.sol', 'ToggleWallet'),
    GasBurnerDelegate: pick('TestWallets.sol', 'GasBurnerDelegate'),
    Batch: pick('Batch.sol', 'Batch')
  }
  return compiled
}

/** Deploys a contract wallet owned by `owner` (who pays the deployment) and funds it with `usdc` from `funder`. */
export async function deployWallet(
  chain: Chain,
  kind: WalletContract,
  owner: LocalAccount,
  options: { usdc: bigint; funder: LocalAccount; args?: readonly unknown[] }
): Promise<Address> {
  const { abi, bytecode } = testContracts()[kind]
  const wallet = createWalletClient({ account: owner, chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })
  const hash = await wallet.deployContract({ abi, bytecode, args: [owner.address, ...(options.args ?? [])] })
  const { contractAddress } = await chain.client.waitForTransactionReceipt({ hash, pollingInterval: 20 })
  if (contractAddress == null) throw new Error(`${kind} not deployed`)
  if (options.usdc > 0n) {
    const funder = createWalletClient({
      account: options.funder,
      chain: chain.devnet.chain,
      transport: http(chain.devnet.rpcUrl)
    })
    const tx = await funder.writeContract({
      address: chain.asset.address,
      abi: usdcAbi,
      functionName: 'transfer',
      args: [contractAddress, options.usdc]
    })
    await chain.client.waitForTransactionReceipt({ hash: tx, pollingInterval: 20 })
  }
  return contractAddress
}

/**
 * How a contract wallet's owner encodes a signature (as Safe does): `parity` — r ‖ s ‖ y-parity byte (0x00/0x01);
 * `eth_sign` — an eth_sign signature over the EIP-712 digest with v + 4 (0x1f/0x20); `trailing` — a classic 65-byte
 * signature followed by 32 bytes of wallet data (97 bytes in all).
 */
export type WalletSignatureScheme = 'parity' | 'eth_sign' | 'trailing'

/** A payment signer for a contract wallet: the owner signs, the bytes are shaped the way the wallet reads them. */
export function contractWalletSigner(
  wallet: Address,
  owner: LocalAccount,
  scheme: WalletSignatureScheme
): PaymentSigner {
  return {
    address: wallet,
    async signTypedData(parameters) {
      const typed = parameters as Parameters<LocalAccount['signTypedData']>[0]
      if (scheme === 'eth_sign') {
        const digest = hashTypedData(typed)
        const sig = await owner.signMessage({ message: { raw: digest } })
        const v = Number(BigInt(slice(sig, 64, 65)))
        return concat([slice(sig, 0, 64), numberToHex(v + 4, { size: 1 })])
      }
      const sig = await owner.signTypedData(typed)
      if (scheme === 'parity') {
        const v = Number(BigInt(slice(sig, 64, 65)))
        return concat([slice(sig, 0, 64), numberToHex(v - 27, { size: 1 })])
      }
      const trailer = numberToHex(0xbe7a4, { size: 32 })
      const out = concat([sig, trailer])
      if (size(out) !== 97) throw new Error('unexpected signature size')
      return out
    }
  }
}
