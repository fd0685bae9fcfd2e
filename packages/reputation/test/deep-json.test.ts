import { describe, expect, it } from 'vitest'
import { decodeFeedbackFile, MAX_FEEDBACK_FILE_BYTES, MAX_FEEDBACK_FILE_DEPTH } from '../src/index.ts'
import { fileSeed } from './fuzz/seeds.ts'

const text = new TextDecoder().decode(fileSeed)
const utf8 = new TextEncoder()
/** The seed file with an unknown field nested `depth` arrays deep (the file itself is one level). */
const nested = (depth: number) => utf8.encode(text.replace(/^\{/, `{"extra":${'['.repeat(depth)}${']'.repeat(depth)},`))

describe('feedback files past the bounds (issue 13)', () => {
  it('reads one at the depth bound, refuses one level more and a 5,000-deep one with FeedbackFileError', () => {
    expect(decodeFeedbackFile(nested(MAX_FEEDBACK_FILE_DEPTH - 1)).agentId).toBe(7)
    expect(() => decodeFeedbackFile(nested(MAX_FEEDBACK_FILE_DEPTH))).toThrow(/nests more than 64/)
    expect(() => decodeFeedbackFile(nested(5_000))).toThrow(expect.objectContaining({ name: 'FeedbackFileError' }))
  })

  it('refuses a file over the size bound', () => {
    const big = utf8.encode(text.replace(/^\{/, `{"pad":"${'x'.repeat(MAX_FEEDBACK_FILE_BYTES)}",`))
    expect(() => decodeFeedbackFile(big)).toThrow(/over 65536 bytes/)
  })
})
