import { StreamStateError } from '@libp2p/interface'
import { describe, expect, it } from 'vitest'
import { streamError } from '../src/stream-error.ts'

describe('streamError: what a stream operation rejected with, as an Error', () => {
  it("turns the close event @libp2p/utils' stream.close() rejects with into a typed error, never '[object Event]'", () => {
    const plain = streamError(new Event('close'))
    expect(plain).toBeInstanceOf(StreamStateError)
    expect(plain.message).toBe('the stream emitted "close" before the operation finished')
    expect(String(plain)).not.toContain('[object Event]')
    const reset = new Error('reset by the peer')
    expect(streamError(Object.assign(new Event('close'), { error: reset }))).toBe(reset)
  })

  it('passes errors through and wraps anything else', () => {
    const err = new RangeError('x')
    expect(streamError(err)).toBe(err)
    expect(streamError('gone')).toMatchObject({ message: 'gone' })
  })
})
