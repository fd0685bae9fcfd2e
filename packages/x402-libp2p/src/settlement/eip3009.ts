import type { PaymentRequirements } from '@x402/core/types'
import { authorizationTypes, eip3009ABI } from '@x402/evm'
import {
  type Address,
  encodeFunctionData,
  getAddress,
  type Hex,
  type PublicClient,
  parseSignature,
  recoverTypedDataAddress
} from 'viem'

/** The EIP-3009 authorization of an `exact` payload. */
export interface Authorization {
  from: Address
  to: Address
  value: string
  validAfter: string
  validBefore: string
  nonce: Hex
}

/** EIP-712 domain of the token named by the requirements (`extra.name`/`extra.version`, CAIP-2 chain, asset). */
export function tokenDomain(requirements: PaymentRequirements) {
  const extra = (requirements.extra ?? {}) as { name?: string; version?: string }
  return {
    name: extra.name ?? '',
    version: extra.version ?? '',
    chainId: Number(requirements.network.split(':')[1]),
    verifyingContract: getAddress(requirements.asset)
  }
}

function message(a: Authorization) {
  return {
    from: getAddress(a.from),
    to: getAddress(a.to),
    value: BigInt(a.value),
    validAfter: BigInt(a.validAfter),
    validBefore: BigInt(a.validBefore),
    nonce: a.nonce
  }
}

/**
 * Whether `signature` authorizes `a` under the token's EIP-712 domain, with `@x402/evm`'s EIP-712 types. An EOA
 * signature is checked by one local recovery (no RPC); anything else falls back to viem's `verifyTypedData`, which
 * handles ERC-1271 and ERC-6492 smart wallets on-chain.
 */
export async function verifyAuthorizationSignature(
  client: PublicClient,
  requirements: PaymentRequirements,
  a: Authorization,
  signature: Hex
): Promise<boolean> {
  const typed = {
    domain: tokenDomain(requirements),
    types: authorizationTypes,
    primaryType: 'TransferWithAuthorization' as const,
    message: message(a)
  }
  if (signature.length === 132) {
    try {
      if ((await recoverTypedDataAddress({ ...typed, signature })) === getAddress(a.from)) return true
    } catch {
      // not a recoverable ECDSA signature: try the contract-wallet path
    }
  }
  return client.verifyTypedData({ ...typed, address: getAddress(a.from), signature }).catch(() => false)
}

/**
 * Calldata for `transferWithAuthorization`: the `(v, r, s)` overload every EIP-3009 token has for 65-byte ECDSA
 * signatures, the `bytes signature` overload (USDC v2.2+) for contract-wallet signatures.
 */
export function transferCalldata(a: Authorization, signature: Hex): Hex {
  const m = message(a)
  const head = [m.from, m.to, m.value, m.validAfter, m.validBefore, m.nonce] as const
  if (signature.length === 132) {
    const { v, r, s, yParity } = parseSignature(signature)
    const vv = Number(v ?? BigInt(27 + yParity))
    return encodeFunctionData({ abi: eip3009ABI, functionName: 'transferWithAuthorization', args: [...head, vv, r, s] })
  }
  return encodeFunctionData({ abi: eip3009ABI, functionName: 'transferWithAuthorization', args: [...head, signature] })
}
