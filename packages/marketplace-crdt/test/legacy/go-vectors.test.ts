/**
 * Byte vectors written by Go's own `encoding/json` (test/fixtures/go-vectors: main.go declares the Go prototype's
 * listing structs with their tags, vectors.json is its output). Our encoders must write the same bytes for the same
 * values, and our decoders must read them back to those values.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  decodeAnnouncement,
  decodeInfoReply,
  decodeListing,
  encodeAnnouncement,
  encodeInfoReply,
  encodeListing,
  type GoAgentListingInput,
  type GoAgentListingMessageInput
} from '../../src/legacy/index.ts'

interface Vector {
  name: string
  input: unknown
  go: string
}
const { goVersion, vectors } = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', 'fixtures', 'go-vectors', 'vectors.json'), 'utf8')
) as { goVersion: string; vectors: Vector[] }
const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)
// biome-ignore lint/suspicious/noControlCharactersInRegex: the characters a bridge refuses in text
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
/** Go's API enrichment, which a bridge neither writes nor keeps. */
const withoutReputation = (s: string) => s.replace(/,"onChainReputation":\{[^}]*\}/g, '')

describe(`Go ${goVersion} encoding/json vectors`, () => {
  it('covers announcements, listings and info replies', () => {
    expect(vectors.length).toBeGreaterThan(20)
  })

  for (const v of vectors) {
    it(v.name, () => {
      if (v.name.startsWith('announcement/')) {
        const input = v.input as GoAgentListingMessageInput
        expect(text(encodeAnnouncement(input))).toBe(v.go)
        // Prices past 10^15 USDC are refused on reading (Go would take them); everything else reads back the same.
        if (input.price > 1e15) expect(() => decodeAnnouncement(bytes(v.go), 1 << 20)).toThrow(/price/)
        // Control characters in text are refused on reading (terminal escapes); Go would take them.
        else if (CONTROL.test(String(input.name))) {
          expect(() => decodeAnnouncement(bytes(v.go), 1 << 20)).toThrow(/control character/)
        } else expect(text(encodeAnnouncement(decodeAnnouncement(bytes(v.go), 1 << 20)))).toBe(v.go)
      } else if (v.name.startsWith('listing/')) {
        expect(encodeListing(v.input as GoAgentListingInput)).toBe(withoutReputation(v.go))
        expect(encodeListing(decodeListing(JSON.parse(v.go)))).toBe(withoutReputation(v.go))
      } else {
        const listings = (v.input ?? []) as GoAgentListingInput[]
        const reply = decodeInfoReply(bytes(v.go), 1 << 20, 1024)
        expect(reply.listings).toHaveLength(listings.length)
        expect(reply.invalid).toBe(0)
        // Go writes a nil slice as null and an empty one as []; we always write [], which Go reads as the same.
        expect(text(encodeInfoReply(listings))).toBe(v.go === 'null' ? '[]' : withoutReputation(v.go))
      }
    })
  }
})
