import { type FuzzTarget, typedBy } from '@betar/fuzz'
import { MAX_HELLO_EPOCHS } from '../../src/service/constants.ts'
import { decodeFrame, encodeFrame, type Frame, FrameType } from '../../src/service/sync/wire.ts'

const frames: Frame[] = [
  { type: FrameType.HELLO, epochs: [0, 1, 2_000_000] },
  { type: FrameType.EPOCH, epoch: 28_000_000 },
  { type: FrameType.VECTOR, epoch: 1, stateVector: Uint8Array.from([1, 0x85, 0x9a, 0x11, 4]) },
  { type: FrameType.CHUNK, epoch: 1, update: Uint8Array.from([0, 1, 5, 1, 0, 0]) },
  { type: FrameType.ACK, bytes: 65_536 },
  { type: FrameType.END },
  { type: FrameType.BUSY, retryAfterMs: 1_500 }
]

/** Fixed finding (issue 13): ACK and BUSY were read without the safe-integer check epochs get. */
export const UNSAFE_COUNT = 'ACK bytes or BUSY retryAfterMs is not a safe integer'

function violation(f: Frame): string | undefined {
  const numbers = Object.values(f).filter((v): v is number => typeof v === 'number')
  if (!numbers.every((n) => Number.isSafeInteger(n) && n >= 0)) return UNSAFE_COUNT
  if (f.type === FrameType.HELLO && (f.epochs.length > MAX_HELLO_EPOCHS || new Set(f.epochs).size !== f.epochs.length))
    return 'HELLO epochs'
  if (f.type === FrameType.HELLO && !f.epochs.every((e) => Number.isSafeInteger(e) && e >= 0)) return 'HELLO epoch'
  // what the encoder writes back reads as the same frame
  const again = decodeFrame(encodeFrame(f))
  return JSON.stringify(again) === JSON.stringify(f) ? undefined : 'the re-encoded frame reads differently'
}

/** Frames of `/betar/marketplace/sync/2.0.0` (`decodeFrame`). */
export const syncFrame: FuzzTarget = {
  name: 'marketplace-sync-frame',
  cost: 'cheap',
  formats: ['varint'],
  maxLength: 4096,
  seeds: () => frames.map(encodeFrame),
  run: (input) => decodeFrame(input),
  isTyped: typedBy('InvalidMessageError'),
  check: (_, f) => violation(f as Frame)
}
