import { secp256k1 } from '@noble/curves/secp256k1.js'
import { type Address, bytesToBigInt, type Hex, hexToBytes, keccak256, toBytes } from 'viem'
import type { Authorization } from './eip3009.ts'

/** The EIP-712 domain of an EIP-3009 token (USDC: name "USD Coin" or "USDC", version "2"). */
export interface TokenDomain {
  name: string
  version: string
  chainId: number
  verifyingContract: Address
}

/** Options for {@link AuthorizationSignatures}. */
export interface AuthorizationSignaturesInit {
  /** Payers whose public key is remembered (the least recently used is forgotten first). @default 4096 */
  maxKeys?: number
}

const Point = secp256k1.Point
const N = Point.Fn.ORDER
/** OpenZeppelin / FiatToken `ECRecover`: `s` above half the order is refused (malleability, EIP-2). */
const HALF_N = N >> 1n
const UINT256 = 1n << 256n

const typeHash = (type: string): Uint8Array => keccak256(toBytes(type), 'bytes')
const DOMAIN_TYPEHASH = typeHash('EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)')
const TRANSFER_TYPEHASH = typeHash(
  'TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)'
)

type Key = InstanceType<typeof Point>

/** Writes `value` as a big-endian 32-byte word at `offset`; `false` when it does not fit a `uint256`. */
function word(out: Uint8Array, offset: number, value: bigint): boolean {
  if (value < 0n || value >= UINT256) return false
  let v = value
  for (let i = offset + 31; i >= offset; i--) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return true
}

/** The Ethereum address of a public key, lower case. */
function addressOf(point: InstanceType<typeof Point>): string {
  return `0x${keccak256(point.toBytes(false).subarray(1)).slice(26)}`
}

/**
 * The EIP-712 domain separator of a token (EIP-712 §Definition of domainSeparator), computed from its domain. A seller
 * should prefer the token's own `DOMAIN_SEPARATOR()`: a domain taken from configuration (a wrong `name`, say) gives a
 * separator the token does not use.
 */
export function domainSeparator(domain: TokenDomain): Uint8Array {
  const encoded = new Uint8Array(5 * 32)
  encoded.set(DOMAIN_TYPEHASH, 0)
  encoded.set(keccak256(toBytes(domain.name), 'bytes'), 32)
  encoded.set(keccak256(toBytes(domain.version), 'bytes'), 64)
  if (!word(encoded, 96, BigInt(domain.chainId)) || !word(encoded, 128, BigInt(domain.verifyingContract))) {
    throw new RangeError('chainId and verifyingContract must fit a uint256')
  }
  return keccak256(encoded, 'bytes')
}

/**
 * The local check of an EIP-3009 `TransferWithAuthorization` signature by an externally owned payer — the check the
 * token itself makes on the `(v, r, s)` path (FiatToken's `ECRecover`, as OpenZeppelin's): a 65-byte `r ‖ s ‖ v`
 * with `v` 27 or 28 (0 and 1 are read as 27 and 28, as the settlement's calldata normalises them), `0 < r < n`,
 * `0 < s ≤ n/2`, and `ecrecover(digest, v, r, s)` equal to `from`. A payer with code (a contract wallet, or an
 * EIP-7702-delegated account) is checked by the token through ERC-1271 instead: the caller must not use this check
 * for one.
 *
 * The digest is built directly from the token's domain separator instead of through a generic EIP-712 encoder, and a
 * payer's public key is remembered once a signature recovered to it: later signatures of the same payer are checked
 * against the key — `R = u1·G + u2·Q` must have `x = r` and the parity `v` names, which holds exactly when `ecrecover`
 * gives `Q` back — with one double-scalar multiplication (`mulAddUnsafe`) instead of a recovery's square root and
 * multiplication. Nothing is cached for a signature that did not verify. No precomputed tables: a table per payer
 * (≈ 100–180 KB, ≈ 20 ms to build) let payers who need no funds to sign make a seller rebuild tables in turn.
 */
export class AuthorizationSignatures {
  private readonly maxKeys: number
  private readonly keys = new Map<string, Key>()

  constructor(init: AuthorizationSignaturesInit = {}) {
    this.maxKeys = Math.max(0, init.maxKeys ?? 4096)
  }

  /**
   * The EIP-712 digest the payer signed, under the token's domain separator (32 bytes); `undefined` when a value is
   * not a `uint256`.
   */
  digest(separator: Uint8Array, a: Authorization): Uint8Array | undefined {
    const struct = new Uint8Array(7 * 32)
    struct.set(TRANSFER_TYPEHASH, 0)
    try {
      const fits =
        separator.length === 32 &&
        word(struct, 32, BigInt(a.from)) &&
        word(struct, 64, BigInt(a.to)) &&
        word(struct, 96, BigInt(a.value)) &&
        word(struct, 128, BigInt(a.validAfter)) &&
        word(struct, 160, BigInt(a.validBefore)) &&
        word(struct, 192, BigInt(a.nonce))
      if (!fits) return undefined
    } catch {
      return undefined // not a number at all
    }
    const message = new Uint8Array(66)
    message[0] = 0x19
    message[1] = 0x01
    message.set(separator, 2)
    message.set(keccak256(struct, 'bytes'), 34)
    return keccak256(message, 'bytes')
  }

  /**
   * Whether the token whose domain separator is `separator` would take `signature` as `a.from`'s authorization (see
   * the class). Never throws: anything malformed is `false`.
   */
  signedBy(separator: Uint8Array, a: Authorization, signature: Hex): boolean {
    if (typeof signature !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(signature)) return false
    const digest = this.digest(separator, a)
    if (digest == null) return false
    const bytes = hexToBytes(signature)
    const r = bytesToBigInt(bytes.subarray(0, 32))
    const s = bytesToBigInt(bytes.subarray(32, 64))
    const raw = bytes[64] as number
    const v = raw < 27 ? raw + 27 : raw
    if ((v !== 27 && v !== 28) || r <= 0n || r >= N || s <= 0n || s > HALF_N) return false
    const payer = a.from.toLowerCase()
    const known = this.keys.get(payer)
    if (known != null) return this.check(payer, known, digest, r, s, v - 27)
    let point: Key
    try {
      point = new secp256k1.Signature(r, s, v - 27).recoverPublicKey(digest)
    } catch {
      return false
    }
    if (addressOf(point) !== payer) return false
    this.remember(payer, point)
    return true
  }

  /** `u1·G + u2·Q` is the `R` that `ecrecover(digest, v, r, s)` rebuilds iff it recovers `Q` (see the class). */
  private check(payer: string, key: Key, digest: Uint8Array, r: bigint, s: bigint, parity: number): boolean {
    const z = bytesToBigInt(digest) % N
    const w = Point.Fn.inv(s)
    const u1 = (z * w) % N
    const u2 = (r * w) % N
    let R: Key
    try {
      R = Point.BASE.mulAddUnsafe(u1, key, u2)
      if (R.is0()) return false
    } catch {
      return false
    }
    const { x, y } = R.toAffine()
    if (x !== r || Number(y & 1n) !== parity) return false
    this.remember(payer, key)
    return true
  }

  /** Remembers a payer's key as the most recently used; the least recently used beyond `maxKeys` are forgotten. */
  private remember(payer: string, key: Key): void {
    this.keys.delete(payer)
    this.keys.set(payer, key)
    while (this.keys.size > this.maxKeys) this.keys.delete(this.keys.keys().next().value as string)
  }
}
