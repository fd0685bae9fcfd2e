import { InvalidMessageError } from '@libp2p/interface'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { MAX_HELLO_EPOCHS } from '../constants.ts'

/**
 * Frames of `/betar/marketplace/sync/2.0.0`. Each is one length-prefixed message (`lpStream`): a varuint type, then
 * lib0-encoded fields (the encoding Yjs and y-protocols use). Spec: the package README, "Sync protocol".
 */
export const FrameType = {
  /** initiator → responder: the epochs it holds. */
  HELLO: 0,
  /** responder → initiator: an epoch both hold; its state vector and chunks follow. */
  EPOCH: 1,
  /** Part of a state vector (Yjs encoding of some clients' clocks); bulk, acknowledged. */
  VECTOR: 2,
  /** Part of an epoch's state: a Yjs v1 update holding whole clients (new structs and deleted ranges); bulk. */
  CHUNK: 3,
  /** The receiver processed bulk frames of this many bytes: the sender may send that much more. */
  ACK: 4,
  /** The sender has nothing more for this phase. */
  END: 5,
  /** responder → initiator: refused for now (rate limit or load); retry after the given ms. */
  BUSY: 6
} as const

export type Frame =
  | { type: typeof FrameType.HELLO; epochs: number[] }
  | { type: typeof FrameType.EPOCH; epoch: number }
  | { type: typeof FrameType.VECTOR; epoch: number; stateVector: Uint8Array }
  | { type: typeof FrameType.CHUNK; epoch: number; update: Uint8Array }
  | { type: typeof FrameType.ACK; bytes: number }
  | { type: typeof FrameType.END }
  | { type: typeof FrameType.BUSY; retryAfterMs: number }

/** Frames that count against the sender's window and are acknowledged. */
export type BulkFrame = Extract<Frame, { type: typeof FrameType.VECTOR | typeof FrameType.CHUNK }>

export function encodeFrame(frame: Frame): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, frame.type)
  switch (frame.type) {
    case FrameType.HELLO:
      encoding.writeVarUint(e, frame.epochs.length)
      for (const epoch of frame.epochs) encoding.writeVarUint(e, epoch)
      break
    case FrameType.EPOCH:
      encoding.writeVarUint(e, frame.epoch)
      break
    case FrameType.VECTOR:
      encoding.writeVarUint(e, frame.epoch)
      encoding.writeUint8Array(e, frame.stateVector) // the rest of the frame
      break
    case FrameType.CHUNK:
      encoding.writeVarUint(e, frame.epoch)
      encoding.writeUint8Array(e, frame.update) // the rest of the frame: no copy on the way in
      break
    case FrameType.ACK:
      encoding.writeVarUint(e, frame.bytes)
      break
    case FrameType.BUSY:
      encoding.writeVarUint(e, frame.retryAfterMs)
      break
    case FrameType.END:
      break
  }
  return encoding.toUint8Array(e)
}

const fail = (message: string): never => {
  throw new InvalidMessageError(message)
}

/**
 * A varint that must be a safe integer: lib0 reads up to 2^70 into a float, so a hostile peer can send a number that
 * loses precision (an ACK of 2^60 bytes would open the window for good).
 */
function readCount(d: decoding.Decoder, what: string): number {
  const n = decoding.readVarUint(d)
  if (!Number.isSafeInteger(n)) fail(`${what} is not a safe integer`)
  return n
}

const readEpoch = (d: decoding.Decoder): number => readCount(d, 'epoch')

/** Decodes one frame; throws `InvalidMessageError` on anything malformed, including trailing bytes. */
export function decodeFrame(bytes: Uint8Array | { subarray(): Uint8Array }): Frame {
  const buf = bytes instanceof Uint8Array ? bytes : bytes.subarray()
  const d = decoding.createDecoder(buf)
  let frame: Frame
  try {
    const type = decoding.readVarUint(d)
    switch (type) {
      case FrameType.HELLO: {
        const n = decoding.readVarUint(d)
        if (n > MAX_HELLO_EPOCHS) fail(`HELLO lists ${n} epochs, more than ${MAX_HELLO_EPOCHS}`)
        const epochs: number[] = []
        for (let i = 0; i < n; i++) {
          const epoch = readEpoch(d)
          if (epochs.includes(epoch)) fail(`HELLO lists epoch ${epoch} twice`)
          epochs.push(epoch)
        }
        frame = { type, epochs }
        break
      }
      case FrameType.EPOCH:
        frame = { type, epoch: readEpoch(d) }
        break
      case FrameType.VECTOR:
      case FrameType.CHUNK: {
        const epoch = readEpoch(d)
        const rest = buf.subarray(d.pos)
        d.pos = buf.byteLength
        frame = type === FrameType.VECTOR ? { type, epoch, stateVector: rest } : { type, epoch, update: rest }
        break
      }
      case FrameType.ACK:
        frame = { type, bytes: readCount(d, 'ACK bytes') }
        break
      case FrameType.END:
        frame = { type }
        break
      case FrameType.BUSY:
        frame = { type, retryAfterMs: readCount(d, 'BUSY retryAfterMs') }
        break
      default:
        return fail(`unknown frame type ${type}`)
    }
  } catch (err) {
    if (err instanceof InvalidMessageError) throw err
    return fail(`malformed frame: ${(err as Error).message}`)
  }
  if (d.pos !== buf.byteLength) fail('trailing bytes after the frame')
  return frame
}
