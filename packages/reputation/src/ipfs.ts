import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import type { LoadUri, StoreBytes } from './data-uri.ts'
import { FeedbackLoadError } from './errors.ts'

/** The part of a Helia (or any `interface-blockstore`) blockstore that {@link ipfsFeedbackStorage} uses. */
export interface FeedbackBlockstore {
  put(cid: CID, bytes: Uint8Array, options?: { signal?: AbortSignal }): unknown
  get(cid: CID, options?: { signal?: AbortSignal }): Iterable<Uint8Array> | AsyncIterable<Uint8Array>
}

/**
 * Stores feedback files as single raw IPFS blocks (CIDv1, `raw`, sha2-256) in a blockstore — `helia.blockstore` in
 * the full node, so the file is served over bitswap — and returns `ipfs://<cid>` URIs. `load` reads them back (from
 * the network through Helia) and checks the bytes against the CID. The bytes are stored unchanged, so
 * `feedbackHash` (keccak256 of the bytes) stays valid.
 */
export function ipfsFeedbackStorage(blockstore: FeedbackBlockstore): { store: StoreBytes; load: LoadUri } {
  return {
    async store(bytes, options) {
      const cid = CID.createV1(raw.code, await sha256.digest(bytes))
      await blockstore.put(cid, bytes, options)
      return `ipfs://${cid.toString()}`
    },
    async load(uri, options) {
      if (!uri.startsWith('ipfs://')) throw new FeedbackLoadError(`Not an ipfs:// URI: ${uri}`)
      let cid: CID
      try {
        cid = CID.parse(uri.slice('ipfs://'.length))
      } catch (cause) {
        throw new FeedbackLoadError(`Bad CID in ${uri}`, { cause })
      }
      if (cid.code !== raw.code) throw new FeedbackLoadError(`Only raw-block CIDs are supported: ${uri}`)
      const chunks: Uint8Array[] = []
      for await (const chunk of blockstore.get(cid, options)) chunks.push(chunk)
      const bytes = new Uint8Array(Buffer.concat(chunks))
      const digest = await sha256.digest(bytes)
      if (cid.multihash.code !== sha256.code || !equal(digest.digest, cid.multihash.digest)) {
        throw new FeedbackLoadError(`Block does not match ${uri}`)
      }
      return bytes
    }
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
