/** A frame's declared or actual data length exceeds the allowed maximum (8 MiB in Go, or the caller's lower cap). */
export class V1FrameTooLargeError extends Error {
  static override name = 'V1FrameTooLargeError'
  /** The declared (or actual) data length in bytes. */
  readonly dataLength: number
  /** The maximum that was in force. */
  readonly maxDataLength: number

  constructor(dataLength: number, maxDataLength: number) {
    super(`x402 v1 frame data too large: ${dataLength} > ${maxDataLength}`)
    this.name = 'V1FrameTooLargeError'
    this.dataLength = dataLength
    this.maxDataLength = maxDataLength
  }
}

/** A frame is malformed: type length outside 1..128, type not valid UTF-8, truncated input or trailing bytes. */
export class InvalidV1FrameError extends Error {
  static override name = 'InvalidV1FrameError'

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'InvalidV1FrameError'
  }
}

/** One problem found while validating a message, as reported by zod (or by the JSON parser, with an empty path). */
export interface V1MessageIssue {
  readonly path: ReadonlyArray<PropertyKey>
  readonly message: string
  readonly code?: string
}

/** A frame's data is not valid JSON or does not match the Go struct of its message type. */
export class InvalidV1MessageError extends Error {
  static override name = 'InvalidV1MessageError'
  /** The frame type the data was decoded as. */
  readonly messageType: string
  /** What was wrong, field by field. */
  readonly issues: ReadonlyArray<V1MessageIssue>

  constructor(
    messageType: string,
    message: string,
    issues: ReadonlyArray<V1MessageIssue> = [],
    options?: { cause?: unknown }
  ) {
    super(`invalid ${messageType} message: ${message}`, options)
    this.name = 'InvalidV1MessageError'
    this.messageType = messageType
    this.issues = issues
  }
}
