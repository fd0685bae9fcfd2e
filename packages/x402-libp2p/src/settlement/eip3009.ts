import { eip3009ABI } from '@x402/evm'
import { encodeFunctionData, getAddress, type Hex, hexToNumber, slice } from 'viem'
import type { Eip3009Authorization } from '../payment.ts'

/** The EIP-3009 authorization of an `exact` payload. */
export type Authorization = Eip3009Authorization

function head(a: Authorization) {
  return [
    getAddress(a.from),
    getAddress(a.to),
    BigInt(a.value),
    BigInt(a.validAfter),
    BigInt(a.validBefore),
    a.nonce
  ] as const
}

/**
 * Calldata for `transferWithAuthorization` (EIP-3009), chosen by **who the payer is**, not by the signature's length:
 *
 * - a payer with code (a contract wallet, or an EIP-7702 account) is checked by the token through ERC-1271, so its
 *   signature bytes go to the token **unchanged**, through the `bytes signature` overload (USDC v2.2+);
 * - an externally owned payer's signature must be 65 bytes `r ‖ s ‖ v`; `v` ∈ {0, 1} is normalised to {27, 28} (what
 *   `ecrecover` accepts) and the `(v, r, s)` overload every EIP-3009 token has is used.
 *
 * Returns `undefined` for an externally owned payer whose signature is not 65 bytes (no token can accept it).
 */
export function transferCalldata(a: Authorization, signature: Hex, payerHasCode: boolean): Hex | undefined {
  if (payerHasCode) {
    return encodeFunctionData({
      abi: eip3009ABI,
      functionName: 'transferWithAuthorization',
      args: [...head(a), signature]
    })
  }
  if (signature.length !== 132) return undefined
  const r = slice(signature, 0, 32)
  const s = slice(signature, 32, 64)
  const raw = hexToNumber(slice(signature, 64, 65))
  const v = raw < 27 ? raw + 27 : raw
  return encodeFunctionData({ abi: eip3009ABI, functionName: 'transferWithAuthorization', args: [...head(a), v, r, s] })
}
