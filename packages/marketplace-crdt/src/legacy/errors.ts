/** Why a Go-format message was refused. */
export type LegacyRejectReason =
  /** Over the size bound, checked before parsing. */
  | 'size'
  /** Not JSON, too deep, not UTF-8, or with a `__proto__` member. */
  | 'json'
  /** JSON, but not a Go `AgentListing`/`AgentListingMessage` within our field bounds. */
  | 'schema'
  /** `sellerId` is not the peer that signed the GossipSub message or answered the stream: a spoof. */
  | 'seller'
  /** The seller already holds its quota of legacy listings here, or the node its global one. */
  | 'quota'
  /** Older than what this node holds for the same listing. */
  | 'stale'

/** A Go-format listing or announcement was refused. Nothing of it was stored. */
export class InvalidLegacyListingError extends Error {
  static override name = 'InvalidLegacyListingError'
  readonly reason: LegacyRejectReason

  constructor(
    reason: LegacyRejectReason,
    message = `legacy listing refused: ${reason}`,
    options?: { cause?: unknown }
  ) {
    super(message, options)
    this.name = 'InvalidLegacyListingError'
    this.reason = reason
  }
}

/** A `/betar/marketplace/1.0.0` frame broke Go's layout or our bounds. The stream is aborted. */
export class LegacyFrameError extends Error {
  static override name = 'LegacyFrameError'

  constructor(message = 'invalid /betar/marketplace/1.0.0 frame', options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'LegacyFrameError'
  }
}

/** A peer's `info` reply was not a listing array: Go answers errors as plain text in the same frame. */
export class LegacyInfoError extends Error {
  static override name = 'LegacyInfoError'

  constructor(message = 'the peer did not answer info with listings', options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'LegacyInfoError'
  }
}
