/** A listing failed validation: malformed, unsigned, signed by someone else, stale, expired or oversized. */
export class InvalidListingError extends Error {
  static override name = 'InvalidListingError'

  constructor(message = 'invalid listing') {
    super(message)
    this.name = 'InvalidListingError'
  }
}

/** A CRDT update from the network breaks the ownership rules (spec: docs/marketplace-threat-model.md). */
export class RejectedUpdateError extends Error {
  static override name = 'RejectedUpdateError'
  /** Whether a full state sync with the sender may resolve it (a missing earlier update rather than an attack). */
  readonly needsSync: boolean

  constructor(message = 'update rejected', needsSync = false) {
    super(message)
    this.name = 'RejectedUpdateError'
    this.needsSync = needsSync
  }
}
