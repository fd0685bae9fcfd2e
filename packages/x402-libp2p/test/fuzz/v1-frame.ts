import { type FuzzTarget, typedBy } from '@betar/fuzz'
import { isV1MessageType } from '../../src/v1/constants.ts'
import { decodeV1Frame, encodeV1Frame, type V1Frame } from '../../src/v1/frame.ts'
import { decodeV1Message } from '../../src/v1/messages.ts'
import { v1FrameSeeds } from './seeds.ts'

/** `/x402/libp2p/1.0.0` frames (Go's `[uint16 type_len][type][uint32 data_len][data]`), then their JSON message. */
export const v1Frame: FuzzTarget = {
  name: 'x402-v1-frame',
  cost: 'cheap',
  formats: [],
  seeds: v1FrameSeeds,
  run(input) {
    const frame = decodeV1Frame(input, { maxDataLength: 64 * 1024 })
    if (isV1MessageType(frame.type)) decodeV1Message(frame.type, frame.data)
    return frame
  },
  isTyped: typedBy('InvalidV1FrameError', 'V1FrameTooLargeError', 'InvalidV1MessageError'),
  check(input, out) {
    const frame = out as V1Frame
    // no trailing bytes are accepted, so the frame is exactly its encoding
    return Buffer.compare(encodeV1Frame(frame.type, frame.data), input) === 0 ? undefined : 'not its own encoding'
  }
}
