/** Loads the byte-exact Go vectors from `test/fixtures/v1`. */
import { readFileSync } from 'node:fs'
import type { V1MessageType } from '../../src/v1/constants.ts'
import type { V1MessageMap } from '../../src/v1/messages.ts'

/** One entry of `vectors.json`. */
export interface GoVector {
  name: string
  type: V1MessageType
  file: string
  /** The frame data parsed as JSON (wire form: `body` is base64). */
  message: Record<string, unknown>
  bodyText?: string
  hex: string
  derivation: string
}

const dir = new URL('../fixtures/v1/', import.meta.url)

/** All vectors, in file order. */
export const vectors: GoVector[] = (
  JSON.parse(readFileSync(new URL('vectors.json', dir), 'utf8')) as { vectors: GoVector[] }
).vectors

/** The raw frame bytes of a vector, read from its `.bin` file. */
export function frameBytes(v: GoVector): Uint8Array {
  return new Uint8Array(readFileSync(new URL(v.file, dir)))
}

/** The vector's message in its TypeScript form: `body` base64 → bytes, everything else unchanged. */
export function typedMessage<T extends V1MessageType>(v: GoVector & { type: T }): V1MessageMap[T] {
  const copy: Record<string, unknown> = structuredClone(v.message)
  if (typeof copy.body === 'string') copy.body = new Uint8Array(Buffer.from(copy.body, 'base64'))
  return copy as unknown as V1MessageMap[T]
}

/** The vector named `name`, checked to be of frame type `type`. */
export function vector<T extends V1MessageType>(name: string, type: T): GoVector & { type: T } {
  const v = vectors.find((x) => x.name === name)
  if (v == null) throw new Error(`no vector ${name}`)
  if (v.type !== type) throw new Error(`vector ${name} is ${v.type}, not ${type}`)
  return { ...v, type }
}
