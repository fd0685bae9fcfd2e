import { eip3009ABI } from '@x402/evm'
import { encodeFunctionData, getAddress, type Hex, parseSignature } from 'viem'
import type { Eip3009Authorization } from '../payment.ts'

/** The EIP-3009 authorization of an `exact` payload. */
export type Authorization = Eip3009Authorization

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
