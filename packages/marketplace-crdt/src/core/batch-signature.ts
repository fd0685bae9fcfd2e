import { hash } from 'node:crypto'

/*
 * One signature over a batch of records: the seller signs the root of a Merkle tree over the batch (RFC 9162 §2.1,
 * the Certificate Transparency tree: SHA-256, leaves hashed as 0x00 || data, nodes as 0x01 || left || right), and each
 * record carries its inclusion proof (RFC 9162 §2.1.3). A verifier folds a record's proof into the root and checks the
 * root's signature once per batch, however the batch's records reach it (one gossip message, or spread over the chunks
 * of a state sync). Written here rather than taken from a library: the npm Merkle packages either use other hashing
 * (sorted pairs, keccak) or no domain separation between leaves and nodes, and RFC 9162's algorithms are a few lines.
 */

/** Largest batch one signature covers: a proof then holds at most 12 hashes. */
export const MAX_BATCH_SIZE = 4_096
const HASH_BYTES = 32
const MAX_PATH = 12
/** Proof header: leaf index and tree size, u32 big-endian each. */
const HEADER_BYTES = 8
/** Largest encoded inclusion proof. */
export const MAX_PROOF_BYTES = HEADER_BYTES + MAX_PATH * HASH_BYTES
/** Smallest encoded inclusion proof: the header alone (a batch of one). */
export const MIN_PROOF_BYTES = HEADER_BYTES

const sha256 = (data: Uint8Array): Uint8Array => hash('sha256', data, 'buffer')

function leafHash(leaf: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + leaf.byteLength)
  input[0] = 0x00
  input.set(leaf, 1)
  return sha256(input)
}

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + 2 * HASH_BYTES)
  input[0] = 0x01
  input.set(left, 1)
  input.set(right, 1 + HASH_BYTES)
  return sha256(input)
}

/** The largest power of two smaller than `n` (n ≥ 2): where RFC 9162 splits a tree of `n` leaves. */
function split(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/**
 * The tree over `leaves` (1 to {@link MAX_BATCH_SIZE} of them): its root and each leaf's encoded inclusion proof (leaf
 * index and tree size as u32 big-endian, then the audit path of RFC 9162 §2.1.3.1).
 * @throws RangeError for an empty or oversized batch
 */
export function batchTree(leaves: readonly Uint8Array[]): { root: Uint8Array; proofs: Uint8Array[] } {
  if (leaves.length === 0 || leaves.length > MAX_BATCH_SIZE) {
    throw new RangeError(`a batch holds 1 to ${MAX_BATCH_SIZE} records, not ${leaves.length}`)
  }
  const paths: Uint8Array[][] = leaves.map(() => [])
  /** Hash of the subtree of leaves [from, to); appends its sibling hashes to the paths of the leaves inside it. */
  const subtree = (from: number, to: number): Uint8Array => {
    if (to - from === 1) return leafHash(leaves[from] as Uint8Array)
    const mid = from + split(to - from)
    const left = subtree(from, mid)
    const right = subtree(mid, to)
    for (let i = from; i < mid; i++) paths[i]?.push(right)
    for (let i = mid; i < to; i++) paths[i]?.push(left)
    return nodeHash(left, right)
  }
  const root = subtree(0, leaves.length)
  const proofs = paths.map((path, index) => {
    const proof = new Uint8Array(HEADER_BYTES + path.length * HASH_BYTES)
    const view = new DataView(proof.buffer)
    view.setUint32(0, index)
    view.setUint32(4, leaves.length)
    for (const [i, h] of path.entries()) proof.set(h, HEADER_BYTES + i * HASH_BYTES)
    return proof
  })
  return { root, proofs }
}

/**
 * The root a leaf and its encoded inclusion proof (see {@link batchTree}) lead to, by RFC 9162 §2.1.3.2; `undefined`
 * when the proof is malformed (wrong length, index outside the tree, a path too short or too long for it).
 */
export function rootFromProof(leaf: Uint8Array, proof: Uint8Array): Uint8Array | undefined {
  if (proof.byteLength < HEADER_BYTES || proof.byteLength > MAX_PROOF_BYTES) return undefined
  if ((proof.byteLength - HEADER_BYTES) % HASH_BYTES !== 0) return undefined
  const view = new DataView(proof.buffer, proof.byteOffset, proof.byteLength)
  const index = view.getUint32(0)
  const size = view.getUint32(4)
  if (size === 0 || size > MAX_BATCH_SIZE || index >= size) return undefined
  let fn = index
  let sn = size - 1
  let r = leafHash(leaf)
  for (let at = HEADER_BYTES; at < proof.byteLength; at += HASH_BYTES) {
    if (sn === 0) return undefined
    const p = proof.subarray(at, at + HASH_BYTES)
    if ((fn & 1) === 1 || fn === sn) {
      r = nodeHash(p, r)
      if ((fn & 1) === 0) {
        while ((fn & 1) === 0 && fn !== 0) {
          fn >>>= 1
          sn >>>= 1
        }
      }
    } else {
      r = nodeHash(r, p)
    }
    fn >>>= 1
    sn >>>= 1
  }
  return sn === 0 ? r : undefined
}
