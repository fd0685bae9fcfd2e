import { authorizationTypes } from '@x402/evm'
import { type Address, type Hex, hashTypedData, numberToHex, recoverTypedDataAddress, toHex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import type { Authorization } from '../src/settlement/eip3009.ts'
import { AuthorizationSignatures, domainSeparator, type TokenDomain } from '../src/settlement/signature.ts'

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const domain: TokenDomain = {
  name: 'USD Coin',
  version: '2',
  chainId: 31337,
  verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3'
}
const payee: Address = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const separator = domainSeparator(domain)

function authorization(from: Address, i: number): Authorization {
  return {
    from,
    to: payee,
    value: String(1000 + i),
    validAfter: '0',
    validBefore: String(2_000_000_000 + i),
    nonce: toHex(crypto.getRandomValues(new Uint8Array(32)))
  }
}

const typed = (a: Authorization) => ({
  domain,
  types: authorizationTypes,
  primaryType: 'TransferWithAuthorization' as const,
  message: {
    from: a.from,
    to: a.to,
    value: BigInt(a.value),
    validAfter: BigInt(a.validAfter),
    validBefore: BigInt(a.validBefore),
    nonce: a.nonce
  }
})

const parts = (sig: Hex) => ({
  r: BigInt(`0x${sig.slice(2, 66)}`),
  s: BigInt(`0x${sig.slice(66, 130)}`),
  v: Number.parseInt(sig.slice(130), 16)
})
const join = (r: bigint, s: bigint, v: number): Hex =>
  `0x${numberToHex(r, { size: 32 }).slice(2)}${numberToHex(s, { size: 32 }).slice(2)}${v.toString(16).padStart(2, '0')}`

describe('AuthorizationSignatures: the token’s ecrecover check, locally', () => {
  it('builds the EIP-712 digest viem builds', () => {
    const sigs = new AuthorizationSignatures()
    const a = authorization(privateKeyToAccount(generatePrivateKey()).address, 1)
    expect(toHex(sigs.digest(separator, a) as Uint8Array)).toBe(hashTypedData(typed(a)))
    expect(sigs.digest(separator, { ...a, value: (1n << 256n).toString() })).toBeUndefined()
  })

  it('accepts a payer’s signatures, and refuses other keys’, other terms and other domains', async () => {
    const account = privateKeyToAccount(generatePrivateKey())
    const other = privateKeyToAccount(generatePrivateKey())
    const sigs = new AuthorizationSignatures()
    for (let i = 0; i < 8; i++) {
      const a = authorization(account.address, i)
      const signature = await account.signTypedData(typed(a))
      expect(sigs.signedBy(separator, a, signature)).toBe(true)
      // Another key's signature, the same signature for other terms, or for another payer: refused (and viem agrees).
      const forged = await other.signTypedData(typed(a))
      expect(await recoverTypedDataAddress({ ...typed(a), signature: forged })).not.toBe(account.address)
      expect(sigs.signedBy(separator, a, forged)).toBe(false)
      expect(sigs.signedBy(separator, { ...a, value: String(1 + Number(a.value)) }, signature)).toBe(false)
      expect(sigs.signedBy(separator, { ...a, from: other.address }, signature)).toBe(false)
      expect(sigs.signedBy(domainSeparator({ ...domain, chainId: 1 }), a, signature)).toBe(false)
      expect(sigs.signedBy(domainSeparator({ ...domain, name: 'USDC' }), a, signature)).toBe(false)
    }
  })

  it('refuses what the token refuses: high s, a wrong or out-of-range v, r or s out of range, not 65 bytes', async () => {
    const account = privateKeyToAccount(generatePrivateKey())
    // Twice with one checker (it keeps nothing between checks: the second round must give the same verdicts).
    const sigs = new AuthorizationSignatures()
    for (let round = 0; round < 2; round++) {
      const a = authorization(account.address, 1)
      const signature = await account.signTypedData(typed(a))
      const { r, s, v } = parts(signature)
      // The malleable twin (n − s, other parity) recovers the same address — ecrecover would accept it, FiatToken's
      // ECRecover does not.
      const twin = join(r, N - s, v === 27 ? 28 : 27)
      expect(await recoverTypedDataAddress({ ...typed(a), signature: twin })).toBe(account.address)
      expect(sigs.signedBy(separator, a, twin)).toBe(false)
      expect(sigs.signedBy(separator, a, join(r, s, v === 27 ? 28 : 27))).toBe(false)
      for (const bad of [26, 29, 2, 255]) expect(sigs.signedBy(separator, a, join(r, s, bad))).toBe(false)
      expect(sigs.signedBy(separator, a, join(0n, s, v))).toBe(false)
      expect(sigs.signedBy(separator, a, join(N, s, v))).toBe(false)
      expect(sigs.signedBy(separator, a, join(r, 0n, v))).toBe(false)
      expect(sigs.signedBy(separator, a, `${signature}00`)).toBe(false)
      expect(sigs.signedBy(separator, a, signature.slice(0, 130) as Hex)).toBe(false)
      // v as 0/1 is what the settlement calldata turns into 27/28.
      expect(sigs.signedBy(separator, a, join(r, s, v - 27))).toBe(true)
      expect(sigs.signedBy(separator, a, signature)).toBe(true)
    }
  })

  it('agrees with viem’s recovery on many payers and random (r, s, v), well-formed or not', async () => {
    const sigs = new AuthorizationSignatures()
    const accounts = Array.from({ length: 6 }, () => privateKeyToAccount(generatePrivateKey()))
    let seed = 7n
    const random = () => {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) % (1n << 256n)
      return seed
    }
    for (const [i, account] of accounts.entries()) {
      const a = authorization(account.address, i)
      const signature = await account.signTypedData(typed(a))
      expect(sigs.signedBy(separator, a, signature)).toBe(true)
      for (let k = 0; k < 8; k++) {
        // Random r and s (low s), either parity: viem's recovery names someone else, or fails; we refuse either way.
        const candidate = join(random() % N, random() % (N >> 1n), 27 + (k % 2))
        const recovered = await recoverTypedDataAddress({ ...typed(a), signature: candidate }).catch(() => undefined)
        expect(sigs.signedBy(separator, a, candidate)).toBe(recovered === account.address)
        expect(recovered === account.address).toBe(false)
      }
    }
  })

  it('never throws: malformed signatures and values are refused', async () => {
    const account = privateKeyToAccount(generatePrivateKey())
    const sigs = new AuthorizationSignatures()
    const a = authorization(account.address, 7)
    const signature = await account.signTypedData(typed(a))
    expect(sigs.signedBy(separator, a, signature.toUpperCase().replace('0X', '0x') as Hex)).toBe(true)
    for (const bad of [signature.slice(2), `0x${'zz'.repeat(65)}`, '', `${signature.slice(0, 131)}`]) {
      expect(sigs.signedBy(separator, a, bad as Hex)).toBe(false)
    }
    expect(sigs.signedBy(separator, { ...a, value: 'ten' }, signature)).toBe(false)
    // Spellings BigInt reads but the token cannot take (review): the nonce must be bytes32, `from` an address.
    expect(sigs.signedBy(separator, { ...a, nonce: '0x1' as Hex }, signature)).toBe(false)
    expect(sigs.signedBy(separator, { ...a, from: a.from.replace('0x', '0X') as Address }, signature)).toBe(false)
    expect(sigs.signedBy(separator, { ...a, from: BigInt(a.from) as unknown as Address }, signature)).toBe(false)
    expect(sigs.signedBy(separator, { ...a, value: '-1' }, signature)).toBe(false)
    expect(sigs.signedBy(separator.subarray(1), a, signature)).toBe(false)
    expect(sigs.signedBy(separator, a, signature)).toBe(true)
    expect(() => domainSeparator({ ...domain, chainId: -1 })).toThrow(RangeError)
  })

  it('computes the separator viem computes for the domain', () => {
    const a = authorization(payee, 3)
    const sigs = new AuthorizationSignatures()
    for (const d of [domain, { ...domain, name: 'USDC' }, { ...domain, name: 'ü\u0000😀', version: '' }]) {
      expect(toHex(sigs.digest(domainSeparator(d), a) as Uint8Array)).toBe(hashTypedData({ ...typed(a), domain: d }))
    }
  })
})
