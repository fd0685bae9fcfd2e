import type { PaymentPayload, PaymentRequirements, ResourceInfo } from '@x402/core/types'
import { authorizationTypes } from '@x402/evm'
import { type Address, bytesToHex, getAddress, type Hex, hexToBytes, type LocalAccount, toHex } from 'viem'
import { X402_VERSION } from '../constants.ts'

/** Fields of the EIP-3009 authorization to sign differently from what the requirement implies. */
export interface AuthorizationOverrides {
  /** The payer claimed in the authorization. @default the signer's address */
  from?: Address
  /** @default accepted.payTo */
  to?: Address
  /** @default accepted.amount */
  value?: bigint
  /** @default 0 */
  validAfter?: bigint
  /** @default now + accepted.maxTimeoutSeconds */
  validBefore?: bigint
}

/** A fresh random 32-byte EIP-3009 nonce (preemptive payments, and nonces that are not the challenge). */
export function randomNonce(): Hex {
  return toHex(crypto.getRandomValues(new Uint8Array(32)))
}

/**
 * Signs an EIP-3009 `TransferWithAuthorization` by hand — any value, payee, window or claimed payer — and wraps it as
 * an x402 v2 payload that echoes `accepted` verbatim. The EIP-712 domain comes from `accepted` (extra.name,
 * extra.version, the chain id of its network, its asset), as an `@x402/evm` client builds it.
 */
export async function signAuthorization(
  signer: LocalAccount,
  accepted: PaymentRequirements,
  nonce: Hex,
  overrides: AuthorizationOverrides = {},
  resource?: ResourceInfo
): Promise<PaymentPayload> {
  const now = BigInt(Math.floor(Date.now() / 1000))
  const extra = accepted.extra as { name?: unknown; version?: unknown }
  const message = {
    from: getAddress(overrides.from ?? signer.address),
    to: getAddress(overrides.to ?? accepted.payTo),
    value: overrides.value ?? BigInt(accepted.amount),
    validAfter: overrides.validAfter ?? 0n,
    validBefore: overrides.validBefore ?? now + BigInt(accepted.maxTimeoutSeconds),
    nonce
  }
  const signature = await signer.signTypedData({
    domain: {
      name: String(extra.name),
      version: String(extra.version),
      chainId: Number(accepted.network.split(':')[1]),
      verifyingContract: getAddress(accepted.asset)
    },
    types: authorizationTypes,
    primaryType: 'TransferWithAuthorization',
    message
  })
  return {
    x402Version: X402_VERSION,
    ...(resource != null ? { resource } : {}),
    accepted,
    payload: {
      signature,
      authorization: {
        ...message,
        value: message.value.toString(),
        validAfter: message.validAfter.toString(),
        validBefore: message.validBefore.toString()
      }
    }
  }
}

/** The same payload with one byte of the signature's `r` flipped: well-formed, but it no longer recovers `from`. */
export function flipSignatureByte(payment: PaymentPayload): PaymentPayload {
  const inner = payment.payload as { signature: Hex }
  const bytes = hexToBytes(inner.signature)
  bytes[5] = (bytes[5] ?? 0) ^ 0x5a
  return { ...payment, payload: { ...payment.payload, signature: bytesToHex(bytes) } }
}

/** The nonce a payload's authorization carries. */
export function nonceOf(payment: PaymentPayload): Hex {
  return (payment.payload as { authorization: { nonce: Hex } }).authorization.nonce
}
