import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  encodeMessage,
  encodeVarint,
  type FuzzTarget,
  mutateJson,
  mutateProtobuf,
  Prng,
  parseMessage,
  readVarint,
  runTarget
} from '../src/index.ts'

const utf8 = new TextEncoder()

describe('mutators', () => {
  it('the generator is reproducible from its seed', () => {
    const a = new Prng(7)
    const b = new Prng(7)
    expect(Array.from({ length: 8 }, () => a.u32())).toEqual(Array.from({ length: 8 }, () => b.u32()))
    expect(new Prng(8).u32()).not.toBe(new Prng(7).u32())
  })

  it('varints round-trip over the whole uint64 range', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (v) => {
        const bytes = encodeVarint(v)
        expect(readVarint(bytes, 0)).toEqual({ value: v, length: bytes.byteLength })
      }),
      { seed: 1, numRuns: 300 }
    )
  })

  it('protobuf messages parse and encode back to the same bytes', () => {
    const inner = encodeMessage([{ number: 1n, wireType: 2, bytes: utf8.encode('{"a":1}') }])
    const message = encodeMessage([
      { number: 1n, wireType: 0, value: 3n },
      { number: 2n, wireType: 2, bytes: utf8.encode('abc') },
      { number: 4n, wireType: 2, bytes: inner }
    ])
    expect(encodeMessage(parseMessage(message) ?? [])).toEqual(message)
    const r = new Prng(1)
    let changed = 0
    for (let i = 0; i < 200; i++) {
      const out = mutateProtobuf(r, message, (_, p) => Uint8Array.from([...p, 0x20]))
      if (Buffer.compare(out, message) !== 0) changed++
    }
    expect(changed).toBeGreaterThan(150)
  })

  it('JSON edits keep producing JSON, some of it nested past the decoders bound', () => {
    const r = new Prng(2)
    const seed = utf8.encode('{"a":{"b":[1,"x",true]},"c":"d"}')
    let deep = 0
    for (let i = 0; i < 500; i++) {
      const out = new TextDecoder().decode(mutateJson(r, seed))
      if (out.includes('[[[[[[[[[[') || out.includes('{"a":{"a":{"a":{"a":{"a":{"a":')) deep++
    }
    expect(deep).toBeGreaterThan(10)
  })
})

class TypedError extends Error {
  override name = 'TypedError'
}

function toy(run: (input: Uint8Array) => unknown, extra: Partial<FuzzTarget> = {}): FuzzTarget {
  return {
    name: 'toy',
    cost: 'cheap',
    formats: ['json'],
    seeds: () => [utf8.encode('{"n":1}')],
    run,
    isTyped: (err) => err instanceof TypedError,
    ...extra
  }
}

describe('runTarget', () => {
  it('counts typed refusals, untyped errors, hangs (slow twice) and what the check refuses', async () => {
    let calls = 0
    const busy = (ms: number) => {
      const until = performance.now() + ms
      while (performance.now() < until) {
        // busy: a slow execution
      }
    }
    const report = await runTarget(
      toy(
        (input) => {
          calls++
          if (calls === 10) busy(30) // a one-off pause: timed again, not a hang
          if (input.includes(0x7e)) busy(30) // slow on every run of this input: a hang
          if (input[0] === 0x5b) throw new RangeError('boom')
          if (input.byteLength > 7) throw new TypedError('too long')
          return input.byteLength
        },
        { timeBoundMs: 20, check: (_, n) => ((n as number) === 7 ? 'seven' : undefined) }
      ),
      { executions: 2_000, seed: 3 }
    )
    expect(report.executions).toBe(2_000)
    expect(report.untyped).toBeGreaterThan(0)
    expect(report.hangs).toBeGreaterThan(0)
    expect(report.findings.filter((f) => f.kind === 'hang').every((f) => f.input.includes(0x7e))).toBe(true)
    expect(report.typed).toBeGreaterThan(0)
    expect(report.acceptedInvalid).toBeGreaterThan(0)
    expect(report.findings.filter((f) => f.kind === 'untyped')).toHaveLength(3) // 3 per distinct error
  })

  it('sees a decoder that keeps memory per input', async () => {
    const kept: Uint8Array[] = []
    const report = await runTarget(
      toy(() => {
        kept.push(new Uint8Array(4096).fill(1))
        throw new TypedError('no')
      }),
      { executions: 5_000, seed: 1 }
    )
    expect(report.heapDelta).toBeGreaterThan(8 * 1024 * 1024)
  })
})
