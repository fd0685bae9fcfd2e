import { type FuzzTarget, mutateJson, type Prng, typedBy } from '@betar/fuzz'
import { type SignedRecord, verifyRecord } from '../../src/index.ts'
import { signedRecordViolation } from './listing-check.ts'
import { buildMarket, envelope, type Seller } from './seeds.ts'

const text = new TextDecoder()
let sellers: Seller[] = []

/**
 * A hostile seller: its own envelope, with the payload edited as JSON and signed again — the signature is valid, so
 * only the listing rules stand between it and every replica.
 */
function resign(r: Prng, input: Uint8Array): Uint8Array {
  let payload: string
  try {
    payload = (JSON.parse(text.decode(input)) as { p: string }).p
    if (typeof payload !== 'string') return input
  } catch {
    return input
  }
  const edited = text.decode(mutateJson(r, new TextEncoder().encode(payload)))
  const seller = sellers.find((s) => s.signer != null && edited.includes(s.id)) ?? sellers[0]
  return seller == null ? input : envelope(seller, edited)
}

/** Signed listing envelopes (`verifyRecord`), including validly signed hostile payloads. */
export const listing: FuzzTarget = {
  name: 'marketplace-listing',
  cost: 'cheap',
  formats: ['json'],
  maxLength: 20 * 1024,
  async seeds() {
    const market = await buildMarket()
    sellers = market.sellers
    return market.records
  },
  mutate: resign,
  run: (input) => verifyRecord(input),
  isTyped: typedBy('InvalidListingError'),
  check: (input, out) => signedRecordViolation(input, (out as SignedRecord).record)
}
