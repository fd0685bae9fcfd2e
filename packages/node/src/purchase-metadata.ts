import type { Listing } from '@betar/marketplace-crdt'
import type { FeedbackStorage } from './feedback-job.ts'

/** What the buyer journals about a purchase, next to the x402 call (`metadata` of the journal entry). */
export interface PurchaseMetadata {
  capability: string
  listing: Listing
  rating: number
  feedback: boolean
  feedbackStorage: FeedbackStorage
}

/** The purchase metadata of a journal entry, if it is one. */
export function purchaseMetadata(value: Record<string, unknown> | undefined): PurchaseMetadata | undefined {
  const listing = value?.listing as Listing | undefined
  if (typeof value?.capability !== 'string' || listing == null || typeof listing.id !== 'string') return undefined
  return {
    capability: value.capability,
    listing,
    rating: typeof value.rating === 'number' ? value.rating : 100,
    feedback: value.feedback !== false,
    feedbackStorage: value.feedbackStorage === 'node' ? 'node' : 'data-uri'
  }
}
