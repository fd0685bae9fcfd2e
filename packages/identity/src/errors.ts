/** A registration file failed validation (bad JSON, wrong shape, or out-of-bounds values). */
export class InvalidRegistrationFileError extends Error {
  static override name = 'InvalidRegistrationFileError'
  /** Human-readable validation issues, `path: message`. */
  readonly issues: readonly string[]

  constructor(message: string, issues: readonly string[] = [], options?: ErrorOptions) {
    super(issues.length > 0 ? `${message}: ${issues.slice(0, 5).join('; ')}` : message, options)
    this.name = 'InvalidRegistrationFileError'
    this.issues = issues
  }
}

/** A registration file is larger than the allowed maximum. */
export class RegistrationFileTooLargeError extends Error {
  static override name = 'RegistrationFileTooLargeError'
  /** The maximum size, in bytes. */
  readonly limit: number

  constructor(limit: number, size?: number) {
    super(`registration file exceeds ${limit} bytes${size != null ? ` (${size})` : ''}`)
    this.name = 'RegistrationFileTooLargeError'
    this.limit = limit
  }
}

/** An agentURI uses a scheme this client does not (or, without the needed option, cannot) fetch. */
export class UnsupportedAgentUriError extends Error {
  static override name = 'UnsupportedAgentUriError'
  readonly uri: string

  constructor(uri: string, reason: string) {
    super(`unsupported agentURI ${JSON.stringify(uri.slice(0, 128))}: ${reason}`)
    this.name = 'UnsupportedAgentUriError'
    this.uri = uri
  }
}

/** A registration file could not be retrieved (network failure, timeout, HTTP error, empty agentURI). */
export class AgentFileUnavailableError extends Error {
  static override name = 'AgentFileUnavailableError'
  readonly uri: string

  constructor(uri: string, reason: string, options?: ErrorOptions) {
    super(`agent file ${JSON.stringify(uri.slice(0, 128))} unavailable: ${reason}`, options)
    this.name = 'AgentFileUnavailableError'
    this.uri = uri
  }
}

/** An Identity Registry call failed; subclasses name the known revert reasons, `cause` holds viem's error. */
export class RegistryError extends Error {
  static override name = 'RegistryError'

  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'RegistryError'
  }
}

/** The caller is neither the agent's owner nor an approved operator (`Not authorized`). */
export class NotAuthorizedError extends RegistryError {
  static override name = 'NotAuthorizedError'

  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'NotAuthorizedError'
  }
}

/** No agent has this id (`ERC721NonexistentToken`). */
export class AgentNotFoundError extends RegistryError {
  static override name = 'AgentNotFoundError'

  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'AgentNotFoundError'
  }
}

/** A `setAgentWallet` deadline has passed or lies more than 5 minutes ahead. */
export class DeadlineError extends RegistryError {
  static override name = 'DeadlineError'

  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'DeadlineError'
  }
}

/** The `AgentWalletSet` proof was not signed by the new wallet (or the wallet is the zero address). */
export class InvalidWalletSignatureError extends RegistryError {
  static override name = 'InvalidWalletSignatureError'

  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'InvalidWalletSignatureError'
  }
}
