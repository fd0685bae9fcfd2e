import type { AbortOptions } from '@libp2p/interface'
import { HTTPFacilitatorClient } from '@x402/core/http'
import type { PaymentPayload, PaymentRequirements, SettleResponse, VerifyResponse } from '@x402/core/types'
import { SettleError, VerifyError } from '@x402/core/types'
import type { Address, Hex, PublicClient } from 'viem'
import { findAuthorizationTransfer } from './lookup.ts'
import type { Settler } from './settler.ts'

/** Options for {@link facilitatorSettler}. */
export interface FacilitatorSettlerInit {
  /** Base URL of an x402 facilitator (`/verify`, `/settle`, `/supported`). */
  url: string
  /** The seller's payee, used when resources don't name one. */
  payTo?: Address
  /** Headers per call, e.g. an API key (`{ verify, settle, supported }` maps as in `@x402/core`). */
  createAuthHeaders?: () => Promise<{
    verify: Record<string, string>
    settle: Record<string, string>
    supported: Record<string, string>
  }>
  /** Optional chain reader: lets a restarted seller see whether a settlement it started did happen. */
  publicClient?: PublicClient
}

/**
 * Settles through an x402 facilitator's HTTP API, with `@x402/core`'s `HTTPFacilitatorClient`. A facilitator's own
 * `settlement_pending` answer (receipt not seen in its time) is passed through with its transaction hash.
 */
export function facilitatorSettler(init: FacilitatorSettlerInit): Settler {
  const client = new HTTPFacilitatorClient({
    url: init.url,
    ...(init.createAuthHeaders != null ? { createAuthHeaders: init.createAuthHeaders } : {})
  })
  return {
    name: 'facilitator',
    ...(init.payTo != null ? { payTo: init.payTo } : {}),
    async verify(
      payload: PaymentPayload,
      requirements: PaymentRequirements,
      options: AbortOptions = {}
    ): Promise<VerifyResponse> {
      options.signal?.throwIfAborted()
      try {
        return await client.verify(payload, requirements)
      } catch (err) {
        // A non-2xx answer that still carries a verdict is a verdict, not a transport failure.
        if (!(err instanceof VerifyError)) throw err
        return {
          isValid: false,
          invalidReason: err.invalidReason ?? 'unexpected_verify_error',
          ...(err.invalidMessage != null ? { invalidMessage: err.invalidMessage } : {}),
          ...(err.payer != null ? { payer: err.payer } : {})
        }
      }
    },
    async settle(
      payload: PaymentPayload,
      requirements: PaymentRequirements,
      options: AbortOptions = {}
    ): Promise<SettleResponse> {
      options.signal?.throwIfAborted()
      try {
        return await client.settle(payload, requirements)
      } catch (err) {
        if (!(err instanceof SettleError)) throw err
        return {
          success: false,
          errorReason: err.errorReason ?? 'unexpected_settle_error',
          ...(err.errorMessage != null ? { errorMessage: err.errorMessage } : {}),
          ...(err.payer != null ? { payer: err.payer } : {}),
          transaction: err.transaction,
          network: err.network
        }
      }
    },
    ...(init.publicClient != null
      ? {
          async findSettlement(payload: PaymentPayload, requirements: PaymentRequirements, options: AbortOptions = {}) {
            const authorization = (payload.payload as { authorization: { from: Address; nonce: Hex } }).authorization
            return findAuthorizationTransfer(init.publicClient as PublicClient, requirements, authorization, options)
          }
        }
      : {})
  }
}
