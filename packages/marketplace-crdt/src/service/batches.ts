import type { ListingInput } from '../core/marketplace-doc.ts'

const utf8 = new TextEncoder()

/**
 * Bytes one listing adds to an update, over-estimated: its fields as JSON, with a quarter more for the escaping of the
 * signed payload inside the envelope, plus the envelope, signature, seller id, timestamps and the Yjs item (key and
 * header) — about 350 bytes measured; 512 are counted.
 */
export function estimateListingBytes(input: ListingInput): number {
  return Math.ceil(utf8.encode(JSON.stringify(input)).byteLength * 1.25) + 512
}

/**
 * Splits listings into batches of at most `budget` estimated bytes (and at least one listing each), so each batch is
 * one update well under the gossip message limit. A catalogue of 140 listings was one 1.24 MB update, which every
 * receiver refused (its limit is 1 MiB).
 */
export function* publishBatches(inputs: readonly ListingInput[], budget: number): Generator<ListingInput[]> {
  let batch: ListingInput[] = []
  let bytes = 0
  for (const input of inputs) {
    const size = estimateListingBytes(input)
    if (batch.length > 0 && bytes + size > budget) {
      yield batch
      batch = []
      bytes = 0
    }
    batch.push(input)
    bytes += size
  }
  if (batch.length > 0) yield batch
}
