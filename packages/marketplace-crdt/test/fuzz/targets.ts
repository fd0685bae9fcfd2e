import type { FuzzTarget } from '@betar/fuzz'
import { legacyAnnouncement, legacyInfo } from './legacy.ts'
import { listing } from './listing.ts'
import { syncFrame } from './sync-frame.ts'
import { update } from './update.ts'

/**
 * Every decoder of `@betar/marketplace-crdt` that reads peer bytes (`pnpm fuzz` and the smoke in fuzz.test.ts). The
 * engine is imported by path: this package's manifest does not list `@betar/fuzz` yet.
 */
export const targets: FuzzTarget[] = [listing, update, syncFrame, legacyAnnouncement, legacyInfo]
