/** The implementation under test did not do what the spec requires; the message says what it did instead. */
export class ConformanceFailure extends Error {
  static override name = 'ConformanceFailure'

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ConformanceFailure'
  }
}

/** A case cannot run against this target (an optional resource or account is missing). */
export class CaseSkipped extends Error {
  static override name = 'CaseSkipped'

  constructor(reason: string) {
    super(reason)
    this.name = 'CaseSkipped'
  }
}

/** Throws a {@link ConformanceFailure} unless `condition` holds. */
export function check(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new ConformanceFailure(typeof message === 'string' ? message : message())
  }
}
