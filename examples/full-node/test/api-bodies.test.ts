import { settledHeap } from '@betar/fuzz'
import { describe, expect, it } from 'vitest'
import { MAX_BODY_BYTES } from '../src/api/index.ts'
import { fakeApi, PAID_ID, TOKEN } from './fuzz/fake-node.ts'

const utf8 = new TextEncoder()
const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', host: '127.0.0.1' }

/** A body sent without `Content-Length` (chunked), as a stream. */
function chunked(bytes: Uint8Array): { body: ReadableStream<Uint8Array>; duplex: 'half' } {
  return {
    body: new ReadableStream({
      start(controller) {
        for (let at = 0; at < bytes.byteLength; at += 1024) controller.enqueue(bytes.subarray(at, at + 1024))
        controller.close()
      }
    }),
    duplex: 'half'
  }
}

describe('REST request bodies (issue 13)', async () => {
  const { app } = await fakeApi()
  const post = (path: string, init: RequestInit & { duplex?: 'half' }) =>
    app.request(`http://127.0.0.1${path}`, { method: 'POST', ...init, headers: { ...headers, ...init.headers } })

  it('refuses a body over 64 KiB with 413, declared or chunked', async () => {
    const big = new Uint8Array(MAX_BODY_BYTES + 1).fill(0x20)
    const declared = await post('/discover', { body: big, headers: { 'content-length': String(big.byteLength) } })
    expect(declared.status).toBe(413)
    const streamed = await post('/discover', chunked(big))
    expect(streamed.status).toBe(413)
    expect(await streamed.json()).toMatchObject({ error: { name: 'PayloadTooLarge' } })
    expect((await post('/discover', chunked(utf8.encode('{"capability":"x"}')))).status).toBe(200)
  })

  it('refuses a body nested past 64 levels with 400 InvalidJson (a deep `input` made the purchase throw)', async () => {
    const input = `${'['.repeat(5_000)}${']'.repeat(5_000)}`
    const body = utf8.encode(`{"capability":"summarize","input":${input},"maxPrice":"1","correlationId":"${PAID_ID}"}`)
    const res = await post('/calls', { body })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: { name: 'InvalidJson', message: /64 levels/ } })
  })

  it('keeps no memory per chunked request (hono bodyLimit kept ~1 KB each on Node 20)', async () => {
    const body = utf8.encode('{"capability":"summarize"}')
    const once = async () => (await post('/discover', chunked(body))).text()
    for (let i = 0; i < 300; i++) await once()
    const before = settledHeap()
    for (let i = 0; i < 3_000; i++) await once()
    expect(settledHeap() - before).toBeLessThan(1024 * 1024)
  })
})
