import { ListingVerificationError, NoSellerError } from '@betar/node'
import { type CallJournalEntry, PaymentNotApprovedError, X402Error } from '@betar/x402-libp2p'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { callView, createApiToken, isLoopbackHost, startApi, toHttpError } from '../src/api/index.ts'

function entry(state: CallJournalEntry['state'], extra: Partial<CallJournalEntry> = {}): CallJournalEntry {
  return {
    correlationId: `call-${state}`,
    peer: '12D3KooWSeller',
    addresses: [],
    resource: 'text-stats',
    body: '',
    contentType: 'application/json',
    state,
    createdAt: 1,
    updatedAt: 2,
    ...extra
  }
}
describe('api building blocks', () => {
  it('creates 32-byte base64url tokens', () => {
    const a = createApiToken()
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(Buffer.from(a, 'base64url')).toHaveLength(32)
    expect(createApiToken()).not.toBe(a)
  })

  it('shows journal entries as calls: charged or not, output decoded, feedback state', () => {
    const done = callView(
      entry('done', {
        result: { body: Buffer.from('{"words":3}').toString('base64'), contentType: 'application/json' }
      }),
      undefined
    )
    expect(done).toMatchObject({ state: 'done', charged: true, output: { words: 3 }, feedback: { state: 'none' } })
    expect(
      callView(entry('done', { result: { body: Buffer.from('plain').toString('base64'), contentType: '' } }), undefined)
        .output
    ).toBe('plain')
    expect(callView(entry('refunded'), undefined).charged).toBe(false)
    expect(callView(entry('failed', { charged: true }), undefined).charged).toBe(true)
    expect(callView(entry('failed'), undefined).charged).toBe(false)
    expect(callView(entry('sent'), undefined).charged).toBeNull()
    const { body: _, result: __, ...listed } = entry('done', { result: { body: 'e30=', contentType: '' } })
    expect('output' in callView({ ...listed, result: { contentType: '' } }, undefined)).toBe(false)
  })

  it('tells loopback hosts apart', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(h), h).toBe(true)
    }
    for (const h of ['0.0.0.0', '::', '192.168.1.10', 'example.com', '10.0.0.1', '128.0.0.1']) {
      expect(isLoopbackHost(h), h).toBe(false)
    }
  })

  it('refuses to listen on a non-loopback host unless allowRemote is set', async () => {
    const app = new Hono()
    await expect(startApi(app, { host: '0.0.0.0' })).rejects.toThrow(/non-loopback/)
    await expect(startApi(app, { host: '192.168.1.10', port: 8080 })).rejects.toThrow(/allowRemote/)
    const api = await startApi(app, { host: 'localhost' })
    expect(api.url).toMatch(/^http:\/\/(127\.0\.0\.1|\[::1\]):\d+$/)
    await api.close()
  })

  it('maps errors to status codes', () => {
    expect(toHttpError(new PaymentNotApprovedError(['too expensive']))).toMatchObject({
      status: 402,
      body: { error: { name: 'PaymentNotApprovedError', violations: ['too expensive'] } }
    })
    expect(toHttpError(new NoSellerError('none')).status).toBe(404)
    const reasons = [{ code: 'NOT_REGISTERED' as const, message: 'no' }]
    expect(toHttpError(new ListingVerificationError(reasons))).toMatchObject({
      status: 422,
      body: { error: { name: 'ListingVerificationError', reasons } }
    })
    expect(toHttpError(X402Error.of('NONCE_USED', 'used'))).toMatchObject({
      status: 502,
      body: { error: { name: 'X402Error', codeName: 'NONCE_USED', message: 'used' } }
    })
    // Anything unknown is the node's fault: typed, and its own text (maybe a path) never leaves the process.
    expect(toHttpError(new Error('boom at /home/me/.betar/datastore'))).toEqual({
      status: 500,
      body: { error: { name: 'InternalError', message: 'the node failed to answer this request' } }
    })
  })
})
