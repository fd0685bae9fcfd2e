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
  /** Payers whose key also keeps a precomputed multiplication table (about 60 KB each). @default 128 */
  maxTables?: number
  /** Checks of one payer's signatures after which its key gets a table (building one costs ~10 recoveries). @default 16 */
  tableAfter?: number
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

interface Key {
  point: InstanceType<typeof Point>
  checks: number
  table: boolean
}

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
 * The local check of an EIP-3009 `TransferWithAuthorization` signature by an externally owned payer — the check the
 * token itself makes on the `(v, r, s)` path (FiatToken's `ECRecover`, as OpenZeppelin's): a 65-byte `r ‖ s ‖ v`
 * with `v` 27 or 28 (0 and 1 are read as 27 and 28, as the settlement's calldata normalises them), `0 < r < n`,
 * `0 < s ≤ n/2`, and `ecrecover(digest, v, r, s)` equal to `from`.
 *
 * The digest is built directly (the domain separator cached per token) instead of through a generic EIP-712 encoder,
 * and a payer's public key is remembered once a signature recovered to it: later signatures of the same payer are
 * checked against the key — `R = u1·G + u2·Q` must have `x = r` and the parity `v` names, which holds exactly when
 * `ecrecover` gives `Q` back — without the square root and the unprecomputed multiplication a recovery costs, and
 * with a precomputed table for payers that sign often. Nothing is cached for a signature that did not verify.
 */
export class AuthorizationSignatures {
  private readonly maxKeys: number
  private readonly maxTables: number
  private readonly tableAfter: number
  private readonly domains = new Map<string, Uint8Array>()
  private readonly keys = new Map<string, Key>()
  private tables = 0

  constructor(init: AuthorizationSignaturesInit = {}) {
    this.maxKeys = init.maxKeys ?? 4096
    this.maxTables = init.maxTables ?? 128
    this.tableAfter = init.tableAfter ?? 16
  }

  /** The EIP-712 digest the payer signed; `undefined` when a value does not fit its `uint256`. */
  digest(domain: TokenDomain, a: Authorization): Uint8Array | undefined {
    const struct = new Uint8Array(7 * 32)
    struct.set(TRANSFER_TYPEHASH, 0)
    const fits =
      word(struct, 32, BigInt(a.from)) &&
      word(struct, 64, BigInt(a.to)) &&
      word(struct, 96, BigInt(a.value)) &&
      word(struct, 128, BigInt(a.validAfter)) &&
      word(struct, 160, BigInt(a.validBefore)) &&
      word(struct, 192, BigInt(a.nonce))
    if (!fits) return undefined
    const message = new Uint8Array(66)
    message[0] = 0x19
    message[1] = 0x01
    message.set(this.separator(domain), 2)
    message.set(keccak256(struct, 'bytes'), 34)
    return keccak256(message, 'bytes')
  }

  /** Whether the token would take `signature` as `a.from`'s authorization (see the class). */
  signedBy(domain: TokenDomain, a: Authorization, signature: Hex): boolean {
    if (signature.length !== 132) return false
    const digest = this.digest(domain, a)
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
    let point: InstanceType<typeof Point>
    try {
      point = new secp256k1.Signature(r, s, v - 27).recoverPublicKey(digest)
    } catch {
      return false
    }
    if (addressOf(point) !== payer) return false
    this.remember(payer, { point, checks: 1, table: false })
    return true
  }

  /** `u1·G + u2·Q` is the `R` that `ecrecover(digest, v, r, s)` rebuilds iff it recovers `Q` (see the class). */
  private check(payer: string, key: Key, digest: Uint8Array, r: bigint, s: bigint, parity: number): boolean {
    const z = bytesToBigInt(digest) % N
    const w = Point.Fn.inv(s)
    const u1 = (z * w) % N
    const u2 = (r * w) % N
    let R: InstanceType<typeof Point>
    try {
      R = Point.BASE.multiplyUnsafe(u1).add(key.point.multiplyUnsafe(u2))
    } catch {
      return false
    }
    if (R.is0()) return false
    const { x, y } = R.toAffine()
    if (x !== r || Number(y & 1n) !== parity) return false
    key.checks++
    // Most recently used last: the first entry is the one to forget.
    this.keys.delete(payer)
    this.keys.set(payer, key)
    if (!key.table && key.checks >= this.tableAfter) this.addTable(key)
    return true
  }

  private addTable(key: Key): void {
    if (this.tables >= this.maxTables) {
      // Drop the table of the least recently used key that has one.
      for (const [payer, other] of this.keys) {
        if (!other.table) continue
        this.keys.set(payer, { point: Point.fromAffine(other.point.toAffine()), checks: other.checks, table: false })
        this.tables--
        break
      }
    }
    key.point.precompute(4, false)
    key.table = true
    this.tables++
  }

  private remember(payer: string, key: Key): void {
    this.keys.set(payer, key)
    while (this.keys.size > this.maxKeys) {
      const [oldest, dropped] = this.keys.entries().next().value as [string, Key]
      this.keys.delete(oldest)
      if (dropped.table) this.tables--
    }
  }

  private separator(domain: TokenDomain): Uint8Array {
    const id = `${domain.chainId}/${domain.verifyingContract.toLowerCase()}/${domain.name}/${domain.version}`
    let separator = this.domains.get(id)
    if (separator == null) {
      const encoded = new Uint8Array(5 * 32)
      encoded.set(DOMAIN_TYPEHASH, 0)
      encoded.set(keccak256(toBytes(domain.name), 'bytes'), 32)
      encoded.set(keccak256(toBytes(domain.version), 'bytes'), 64)
      word(encoded, 96, BigInt(domain.chainId))
      word(encoded, 128, BigInt(domain.verifyingContract))
      separator = keccak256(encoded, 'bytes')
      if (this.domains.size >= 64) this.domains.clear()
      this.domains.set(id, separator)
    }
    return separator
  }
}
