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
  /**
   * Why: `invalid` — it breaks a rule (forged, malformed, refused shape); `stale` — older than, or expired compared
   * with, what this node holds; `quota` — a seller past its quota here; `missing` — an earlier update is missing here.
   * Only `invalid` proves the sender wrong: an honest relay can forward what is stale or over quota for this node.
   */
  readonly kind: 'invalid' | 'stale' | 'quota' | 'missing'

  constructor(
    message = 'update rejected',
    needsSync = false,
    kind: 'invalid' | 'stale' | 'quota' | 'missing' = needsSync ? 'missing' : 'invalid'
  ) {
    super(message)
    this.name = 'RejectedUpdateError'
    this.needsSync = needsSync
    this.kind = kind
  }
}
