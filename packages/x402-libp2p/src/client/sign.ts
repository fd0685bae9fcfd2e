import type { PaymentPayload, PaymentRequirements, ResourceInfo } from '@x402/core/types'
import { authorizationTypes } from '@x402/evm'
import { type Address, getAddress, type Hex } from 'viem'
import { X402_VERSION } from '../constants.ts'

/** Anything that signs EIP-712 typed data: a viem `LocalAccount`, or a wallet-backed equivalent. */
export interface PaymentSigner {
  readonly address: Address
  signTypedData(parameters: {
    domain: Record<string, unknown>
    types: Record<string, unknown>
    primaryType: string
    message: Record<string, unknown>
  }): Promise<Hex>
}

/**
 * Signs an EIP-3009 `TransferWithAuthorization` for `requirements` with the given 32-byte nonce (the server's
 * challenge, or a random one for a preemptive payment) and wraps it as an x402 v2 payload whose `accepted` is the
 * requirement exactly as offered. Same shape and EIP-712 types as `@x402/evm`'s client, which cannot take a nonce.
 */
export async function signExactPayment(
  signer: PaymentSigner,
  requirements: PaymentRequirements,
  nonce: Hex,
  options: {
    /** Unix seconds. @default the wall clock */
    now?: number
    resource?: ResourceInfo
    /** `validAfter` in unix seconds (Go's buyer signs `now − 5`). @default 0 */
    validAfter?: number
  } = {}
): Promise<PaymentPayload> {
  const now = options.now ?? Math.floor(Date.now() / 1000)
  const chainId = Number(requirements.network.split(':')[1])
  const extra = (requirements.extra ?? {}) as { name?: string; version?: string }
  const authorization = {
    from: getAddress(signer.address),
    to: getAddress(requirements.payTo),
    value: requirements.amount,
    validAfter: String(options.validAfter ?? 0),
    validBefore: String(now + requirements.maxTimeoutSeconds),
    nonce
  }
  const signature = await signer.signTypedData({
    domain: { name: extra.name, version: extra.version, chainId, verifyingContract: getAddress(requirements.asset) },
    types: authorizationTypes as unknown as Record<string, unknown>,
    primaryType: 'TransferWithAuthorization',
    message: {
      ...authorization,
      value: BigInt(authorization.value),
      validAfter: BigInt(authorization.validAfter),
      validBefore: BigInt(authorization.validBefore)
    }
  })
  return {
    x402Version: X402_VERSION,
    ...(options.resource != null ? { resource: options.resource } : {}),
    accepted: requirements,
    payload: { authorization, signature }
  }
}
