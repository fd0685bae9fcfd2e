import { TRANSFER_WITH_AUTHORIZATION_TYPES, usdcAbi } from '@betar/devnet'
import {
  type Address,
  createTestClient,
  createWalletClient,
  encodeFunctionData,
  type Hash,
  type Hex,
  http,
  type LocalAccount,
  parseEther,
  toHex
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import type { X402Server } from '../../src/index.ts'
import type { Chain } from '../fixtures/chain.ts'
import { testContracts } from './wallets.ts'

/** A high tip: the payer's own transaction is mined before the seller's settlement in the same block. */
const OUTBID = { gas: 150_000n, maxFeePerGas: 500_000_000_000n, maxPriorityFeePerGas: 200_000_000_000n } as const

const domain = (chain: Chain) => ({
  name: chain.asset.name,
  version: chain.asset.version,
  chainId: chain.devnet.chainId,
  verifyingContract: chain.asset.address
})

const writer = (chain: Chain, account: LocalAccount) =>
  createWalletClient({ account, chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })

/** Calldata of a `transferWithAuthorization` the payer signs for itself: `value` to `to` under `nonce`. */
export async function ownTransferCalldata(
  chain: Chain,
  payer: LocalAccount,
  to: Address,
  value: bigint,
  nonce: Hex
): Promise<Hex> {
  const validBefore = BigInt(Math.floor(Date.now() / 1000) + 3600)
  const signature = await payer.signTypedData({
    domain: domain(chain),
    types: TRANSFER_WITH_AUTHORIZATION_TYPES,
    primaryType: 'TransferWithAuthorization',
    message: { from: payer.address, to, value, validAfter: 0n, validBefore, nonce }
  })
  return encodeFunctionData({
    abi: usdcAbi,
    functionName: 'transferWithAuthorization',
    args: [payer.address, to, value, 0n, validBefore, nonce, signature]
  })
}

/** The payer spends `nonce` on another authorization of its own (`value` to `to`), outbidding the seller. */
export async function spendNonceElsewhere(
  chain: Chain,
  payer: LocalAccount,
  nonce: Hex,
  to: Address,
  value: bigint
): Promise<Hash> {
  return writer(chain, payer).sendTransaction({
    to: chain.asset.address,
    data: await ownTransferCalldata(chain, payer, to, value, nonce),
    ...OUTBID
  })
}

/** The payer cancels its authorization `nonce` (EIP-3009 `cancelAuthorization`), outbidding the seller. */
export async function cancelAuthorization(chain: Chain, payer: LocalAccount, nonce: Hex): Promise<Hash> {
  const signature = await payer.signTypedData({
    domain: domain(chain),
    types: {
      CancelAuthorization: [
        { name: 'authorizer', type: 'address' },
        { name: 'nonce', type: 'bytes32' }
      ]
    },
    primaryType: 'CancelAuthorization',
    message: { authorizer: payer.address, nonce }
  })
  return writer(chain, payer).writeContract({
    address: chain.asset.address,
    abi: usdcAbi,
    functionName: 'cancelAuthorization',
    args: [payer.address, nonce, signature],
    ...OUTBID
  })
}

/** Deploys the `Batch` contract (with automine on): anyone can bundle EIP-3009 authorizations through it. */
export async function deployBatch(chain: Chain, deployer: LocalAccount): Promise<Address> {
  const { abi, bytecode } = testContracts().Batch
  const deployed = await writer(chain, deployer).deployContract({ abi, bytecode })
  const batch = (await chain.client.waitForTransactionReceipt({ hash: deployed, pollingInterval: 20 })).contractAddress
  if (batch == null) throw new Error('Batch not deployed')
  return batch
}

/**
 * One transaction through `batch` that spends each of `nonces` on a 1-unit transfer to `sink` and pays `payTo` the
 * price once under a fresh nonce: several calls' authorizations, one payment. Sent with a high tip, not waited for.
 */
export async function bundleOnePaymentForMany(
  chain: Chain,
  sender: LocalAccount,
  batch: Address,
  payer: LocalAccount,
  nonces: readonly Hex[],
  sink: Address,
  payTo: Address,
  price: bigint
): Promise<Hash> {
  const calls = [
    ...(await Promise.all(nonces.map((n) => ownTransferCalldata(chain, payer, sink, 1n, n)))),
    await ownTransferCalldata(chain, payer, payTo, price, toHex(crypto.getRandomValues(new Uint8Array(32))))
  ]
  return writer(chain, sender).writeContract({
    address: batch,
    abi: testContracts().Batch.abi,
    functionName: 'run',
    args: [chain.asset.address, calls],
    gas: 1_000_000n,
    maxFeePerGas: OUTBID.maxFeePerGas,
    maxPriorityFeePerGas: OUTBID.maxPriorityFeePerGas
  })
}

/** Waits until the node holds `hash` (in its pool, or mined). */
export async function inPool(chain: Chain, hash: Hash): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if ((await chain.client.getTransaction({ hash }).catch(() => undefined)) != null) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`${hash} never reached the pool`)
}

/** Deploys {@link testContracts}' `GasBurnerDelegate` (with automine on): an ERC-1271 check that burns all its gas. */
export async function deployGasBurnerDelegate(chain: Chain, deployer: LocalAccount): Promise<Address> {
  const { abi, bytecode } = testContracts().GasBurnerDelegate
  const deployed = await writer(chain, deployer).deployContract({ abi, bytecode })
  const address = (await chain.client.waitForTransactionReceipt({ hash: deployed, pollingInterval: 20 }))
    .contractAddress
  if (address == null) throw new Error('GasBurnerDelegate not deployed')
  return address
}

/**
 * The externally owned `payer` delegates its account to `delegate` (EIP-7702): a type-4 transaction sent by `sponsor`
 * with a high tip, so that it is ordered before the seller's pending settlement in the next block. Not waited for.
 */
export async function delegateAccount(
  chain: Chain,
  payer: LocalAccount,
  sponsor: LocalAccount,
  delegate: Address
): Promise<Hash> {
  const authorization = await payer.signAuthorization!({
    chainId: chain.devnet.chainId,
    address: delegate,
    nonce: await chain.client.getTransactionCount({ address: payer.address, blockTag: 'pending' })
  })
  const raw = await sponsor.signTransaction({
    type: 'eip7702',
    chainId: chain.devnet.chainId,
    nonce: await chain.client.getTransactionCount({ address: sponsor.address, blockTag: 'pending' }),
    to: sponsor.address,
    data: '0x',
    gas: 200_000n,
    maxFeePerGas: OUTBID.maxFeePerGas,
    maxPriorityFeePerGas: OUTBID.maxPriorityFeePerGas,
    authorizationList: [authorization]
  })
  return chain.client.sendRawTransaction({ serializedTransaction: raw })
}

/**
 * An ordinary USDC transfer from `from`. `outbid`: with a high tip, not waited for (it lands before the seller's
 * settlement in the next block); `after`: with the lowest fee cap the next block takes, not waited for (anvil orders
 * its pool by fee: it lands after the seller's settlement); `false`: waited for.
 */
export async function transferAway(
  chain: Chain,
  from: LocalAccount,
  to: Address,
  amount: bigint,
  order: boolean | 'after'
): Promise<Hash> {
  const fees =
    order === true
      ? OUTBID
      : order === 'after'
        ? {
            gas: 150_000n,
            maxFeePerGas: ((await chain.client.getBlock()).baseFeePerGas ?? 1n) + 1n,
            maxPriorityFeePerGas: 0n
          }
        : {}
  const hash = await writer(chain, from).writeContract({
    address: chain.asset.address,
    abi: usdcAbi,
    functionName: 'transfer',
    args: [to, amount],
    ...fees
  })
  if (order === false) await chain.client.waitForTransactionReceipt({ hash, pollingInterval: 20 })
  return hash
}

/**
 * A new account with 1 ETH (for its own transactions) and `usdc` (atomic units) from `funder` — a payer no seller has
 * seen before.
 */
export async function freshAccount(chain: Chain, usdc: bigint, funder: LocalAccount): Promise<LocalAccount> {
  const account = privateKeyToAccount(generatePrivateKey())
  await createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) }).setBalance(
    { address: account.address, value: parseEther('1') }
  )
  if (usdc > 0n) await transferAway(chain, funder, account.address, usdc, false)
  return account
}

/**
 * Arms a front-runner (`copier`): when the seller next signs a settlement, it copies the transaction from the pool,
 * outbids it, and mines one block (then automine again). Call with automine off. Resolves with the copy's hash.
 */
export function frontRunNext(chain: Chain, server: X402Server, copier: LocalAccount): Promise<Hash> {
  const anvil = createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })
  return new Promise((resolve, reject) =>
    server.addEventListener(
      'payment:submitted',
      (event) => {
        void (async () => {
          const hash = event.detail.transaction!
          await inPool(chain, hash)
          const tx = await chain.client.getTransaction({ hash })
          const copy = await writer(chain, copier).sendTransaction({
            to: tx.to!,
            data: tx.input,
            gas: 200_000n,
            maxFeePerGas: tx.maxFeePerGas! * 20n,
            maxPriorityFeePerGas: tx.maxPriorityFeePerGas! * 10n
          })
          await anvil.mine({ blocks: 1 })
          await anvil.setAutomine(true)
          return copy
        })().then(resolve, reject)
      },
      { once: true }
    )
  )
}
