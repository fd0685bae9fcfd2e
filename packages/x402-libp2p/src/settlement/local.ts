import type { AbortOptions } from '@libp2p/interface'
import type { PaymentPayload, PaymentRequirements, SettleResponse, VerifyResponse } from '@x402/core/types'
import { toFacilitatorEvmSigner } from '@x402/evm'
import { ExactEvmScheme } from '@x402/evm/exact/facilitator'
import {
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  publicActions,
  type Transport,
  type WalletClient
} from 'viem'
import { DEFAULT_SETTLEMENT_TIMEOUT_MS } from '../constants.ts'
import { findAuthorizationTransfer } from './lookup.ts'
import type { Settler } from './settler.ts'

/** Options for {@link localSettler}. */
export interface LocalSettlerInit {
  /** The seller's wallet: it submits `transferWithAuthorization` and pays the gas. */
  walletClient: WalletClient<Transport, Chain, Account>
  /** Reads (verification simulation, receipts, recovery); built from the wallet's transport when absent. */
  publicClient?: PublicClient
  /** How long to wait for a receipt before reporting `settlement_pending`. @default 30000 */
  confirmationTimeoutMs?: number
}

/**
 * Settles with the seller's own wallet — no facilitator. Verification and settlement are `@x402/evm`'s exact-scheme
 * facilitator logic run in-process (signature, recipient, amount, time window, simulation; submit; receipt must
 * contain the `Transfer`). Broadcasts from the one wallet are serialised so concurrent settlements never race for an
 * account nonce; receipt waits run in parallel.
 */
export function localSettler(init: LocalSettlerInit): Settler {
  const wallet = init.walletClient.extend(publicActions)
  const reader: PublicClient = init.publicClient ?? (wallet as unknown as PublicClient)
  const address = wallet.account.address
  let queue: Promise<unknown> = Promise.resolve()
  const serialised = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn)
    queue = next.catch(() => undefined)
    return next
  }

  const signer = toFacilitatorEvmSigner(
    {
      address,
      readContract: (args) =>
        reader.readContract({ ...args, args: args.args ?? [] } as Parameters<PublicClient['readContract']>[0]),
      verifyTypedData: (args) => reader.verifyTypedData(args as Parameters<PublicClient['verifyTypedData']>[0]),
      writeContract: (args) =>
        serialised(() =>
          wallet.writeContract({ ...args, args: args.args ?? [] } as Parameters<typeof wallet.writeContract>[0])
        ),
      sendTransaction: (args) => serialised(() => wallet.sendTransaction({ to: args.to, data: args.data })),
      waitForTransactionReceipt: (args) =>
        reader.waitForTransactionReceipt({
          hash: args.hash,
          pollingInterval: 50,
          ...(args.timeout != null ? { timeout: args.timeout } : {})
        }),
      getCode: (args) => reader.getCode(args)
    },
    { confirmationTimeoutMs: init.confirmationTimeoutMs ?? DEFAULT_SETTLEMENT_TIMEOUT_MS }
  )
  const scheme = new ExactEvmScheme(signer)

  return {
    name: 'local',
    payTo: address,
    async verify(
      payload: PaymentPayload,
      requirements: PaymentRequirements,
      options: AbortOptions = {}
    ): Promise<VerifyResponse> {
      options.signal?.throwIfAborted()
      return scheme.verify(payload, requirements)
    },
    async settle(
      payload: PaymentPayload,
      requirements: PaymentRequirements,
      options: AbortOptions = {}
    ): Promise<SettleResponse> {
      options.signal?.throwIfAborted()
      return scheme.settle(payload, requirements)
    },
    async findSettlement(payload: PaymentPayload, requirements: PaymentRequirements, options: AbortOptions = {}) {
      const authorization = (payload.payload as { authorization: { from: Address; nonce: Hex } }).authorization
      return findAuthorizationTransfer(reader, requirements, authorization, options)
    }
  }
}
