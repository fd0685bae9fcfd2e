import type { V1MessageType } from '../../src/v1/constants.ts'
import { decodeV1Message, encodeV1Message, type V1Message } from '../../src/v1/messages.ts'

/**
 * What a decoded 1.0.0 message must satisfy: the encoder writes it back (Go's `json.Marshal`), and what it writes is a
 * fixed point — decoding and encoding it again gives the same bytes.
 */
export function roundTripViolation(type: V1MessageType, message: V1Message): string | undefined {
  let bytes: Uint8Array
  try {
    bytes = encodeV1Message(type, message as never)
  } catch (err) {
    return `${type} accepted but not re-encodable: ${(err as Error).message}`
  }
  const again = encodeV1Message(type, decodeV1Message(type, bytes) as never)
  return Buffer.compare(again, bytes) === 0 ? undefined : `${type} re-encoding is not a fixed point`
}
