import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { PaymentRequirements } from '@x402/core/types'
import { getAddress, type Hex, isAddress } from 'viem'
import { CORRELATION_ID_PATTERN } from '../constants.ts'
import { ProtocolViolationError, X402Error } from '../errors.ts'
import { jsonBytes } from '../json.ts'
import type { CallRecord } from '../store/records.ts'
import { streamError } from '../stream-error.ts'
import { decodeV1RequestBody, encodeV1ResponseBody } from '../v1/bodies.ts'
import {
  V1_MESSAGE_TYPES,
  X402_V1_ENVELOPE_X402_VERSION,
  X402_V1_PREEMPTIVE_NONCE,
  X402_V1_VERSION
} from '../v1/constants.ts'
import { readV1Frame, writeV1Frame } from '../v1/frame.ts'
import { decodeV1Message, encodeV1Message, v1ErrorFor } from '../v1/messages.ts'
import type { V1MessageMap, V1PaymentEnvelope } from '../v1/types.ts'
import type { PaidCallInput } from './paid.ts'
import { collect, deliverable, recordError } from './respond.ts'
import type { X402ServerImpl } from './server.ts'

const utf8 = new TextEncoder()
const text = new TextDecoder()

/**
 * Serves `/x402/libp2p/1.0.0` for Betar Go nodes (spec §9): one frame in, one frame out per stream; the same paid
 * pipeline and validation order as 2.0.0. The Go handler body `{"resource","input"}` becomes the handler's UTF-8
 * input; the handler's output becomes `{"output"}`.
 */
export class V1Handler {
  private readonly server: X402ServerImpl

  constructor(server: X402ServerImpl) {
    this.server = server
  }

  async onStream(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer
    let correlationId = ''
    try {
      const frame = await readV1Frame(stream, {
        maxDataLength: Math.ceil(this.server.config.maxBodySize * 1.4) + 64 * 1024,
        signal: AbortSignal.timeout(this.server.config.frameTimeoutMs)
      })
      if (frame.type === V1_MESSAGE_TYPES.request) {
        const msg = decodeV1Message(V1_MESSAGE_TYPES.request, frame.data)
        correlationId = checkCorrelation(msg.correlation_id)
        this.server.rateLimit(peer)
        await this.onRequest(stream, peer, msg)
      } else if (frame.type === V1_MESSAGE_TYPES.paidRequest) {
        const msg = decodeV1Message(V1_MESSAGE_TYPES.paidRequest, frame.data)
        correlationId = checkCorrelation(msg.correlation_id)
        this.server.rateLimit(peer)
        const input = decodeV1RequestBody(msg.body)
        if (input.resource === '') throw X402Error.of('INVALID_MESSAGE', 'missing resource in body')
        await this.pay(stream, peer, correlationId, input.resource, utf8.encode(input.input), msg.payment)
      } else {
        throw new ProtocolViolationError(`a ${frame.type} frame cannot open an exchange`)
      }
      await stream.close()
    } catch (err) {
      const error =
        err instanceof X402Error
          ? err
          : err instanceof ProtocolViolationError || (err as Error).name?.startsWith('InvalidV1')
            ? X402Error.of('INVALID_MESSAGE', (err as Error).message)
            : undefined
      if (error == null) {
        stream.abort(streamError(err))
        return
      }
      await this.sendError(stream, correlationId, error).catch(() => {})
      await stream.close().catch(() => stream.abort(error))
    }
  }

  private async onRequest(stream: Stream, peer: PeerId, msg: V1MessageMap['x402.request']): Promise<void> {
    const input = utf8.encode(decodeV1RequestBody(msg.body).input)
    if (msg.payment != null) {
      // `pay` answers a re-ask from its call record before it looks for the resource (spec §4.4).
      await this.pay(stream, peer, msg.correlation_id, msg.resource, input, msg.payment)
      return
    }
    const resource = this.server.resource(msg.resource)
    if (resource == null) throw X402Error.of('UNKNOWN_RESOURCE', `no resource "${msg.resource}"`)
    const request = { resource: msg.resource, body: input, contentType: '', peer, correlationId: msg.correlation_id }
    // Before a challenge is issued, as on 2.0.0 (spec §5 step 3a): input the resource refuses is never signed for.
    await this.server.validate(resource, request)
    if (resource.price == null) {
      const output = await collect(await this.server.execute(resource, request, {}), this.server.config.maxResultSize)
      await this.respond(stream, msg.correlation_id, msg.resource, output, '')
      return
    }
    const issued = await this.server.issueChallenge(peer, msg.correlation_id, msg.resource, resource)
    const r = issued.requirements
    await this.write(stream, V1_MESSAGE_TYPES.paymentRequired, {
      version: X402_V1_VERSION,
      correlation_id: msg.correlation_id,
      challenge_nonce: Buffer.from(issued.challenge).toString('hex'),
      challenge_expires_at: issued.expiresAt,
      payment_requirements: {
        scheme: r.scheme,
        network: r.network,
        amount: r.amount,
        asset: r.asset,
        payTo: r.payTo,
        maxTimeoutSeconds: r.maxTimeoutSeconds,
        extra: r.extra as Record<string, string>
      },
      message: 'Payment required',
      seller_did: msg.resource
    })
  }

  /** Maps the Go payment envelope onto an x402 v2 payload for the shared pipeline, then answers in v1 frames. */
  private async pay(
    stream: Stream,
    peer: PeerId,
    correlationId: string,
    name: string,
    body: Uint8Array,
    envelope: V1PaymentEnvelope
  ): Promise<void> {
    // A re-ask is answered from its call record whether or not the resource is registered (again) yet (spec §4.4).
    const existing = await this.server.calls.get(`${peer}/${correlationId}`)
    const resource = this.server.resource(name)
    if (existing == null && resource == null) throw X402Error.of('UNKNOWN_RESOURCE', `no resource "${name}"`)
    if (existing == null && resource?.price == null) {
      throw X402Error.of('PAYMENT_INVALID', `resource "${name}" is free`)
    }
    const a = envelope.payload?.authorization
    if (envelope.payload == null || a == null)
      throw X402Error.of('PAYMENT_INVALID', 'payment envelope without a payload')
    if (envelope.x402_version !== X402_V1_ENVELOPE_X402_VERSION)
      throw X402Error.of('PAYMENT_INVALID', 'x402_version must be 2')
    if (
      !isAddress(envelope.payer, { strict: false }) ||
      !isAddress(a.from, { strict: false }) ||
      getAddress(envelope.payer) !== getAddress(a.from)
    ) {
      throw X402Error.of('PAYMENT_INVALID', 'payer is not the authorization signer')
    }
    const nonce = a.nonce.toLowerCase().replace(/^0x/, '')
    if (envelope.server_nonce !== X402_V1_PREEMPTIVE_NONCE && envelope.server_nonce.toLowerCase() !== nonce) {
      throw X402Error.of('NONCE_MISMATCH', 'server_nonce is not the authorization nonce')
    }
    // The Go envelope does not echo the requirements: `accepted` is what this server offers for the resource, so the
    // pipeline's field-by-field checks compare the signed authorization against our own terms.
    const offered: PaymentRequirements =
      existing?.requirements ?? this.server.quote(resource as NonNullable<typeof resource>)
    const accepted: PaymentRequirements = { ...offered, network: envelope.network as PaymentRequirements['network'] }
    const payload = {
      x402Version: 2,
      accepted,
      payload: { signature: normalizeV(envelope.payload.signature), authorization: { ...a, nonce: `0x${nonce}` } }
    }
    const call: PaidCallInput = { correlationId, resource: name, body, contentType: '', payment: jsonBytes(payload) }
    const record = await this.server.processPaid(peer, call)
    await this.answer(stream, record)
  }

  private async answer(stream: Stream, record: CallRecord): Promise<void> {
    if (deliverable(record)) {
      const output = new Uint8Array(Buffer.from(record.result ?? '', 'base64'))
      await this.respond(stream, record.correlationId, record.resource, output, record.settlement?.transaction ?? '')
    } else {
      await this.sendError(stream, record.correlationId, recordError(record))
    }
  }

  private async respond(
    stream: Stream,
    correlationId: string,
    resource: string,
    output: Uint8Array,
    txHash: string
  ): Promise<void> {
    await this.write(stream, V1_MESSAGE_TYPES.response, {
      version: X402_V1_VERSION,
      correlation_id: correlationId,
      payment_id: '',
      tx_hash: txHash,
      body: encodeV1ResponseBody(text.decode(output)),
      seller_did: resource
    })
  }

  private async sendError(stream: Stream, correlationId: string, err: X402Error): Promise<void> {
    await this.write(stream, V1_MESSAGE_TYPES.error, v1ErrorFor(correlationId, err))
  }

  private async write<T extends keyof V1MessageMap>(stream: Stream, type: T, msg: V1MessageMap[T]): Promise<void> {
    await writeV1Frame(stream, type, encodeV1Message(type, msg), { signal: AbortSignal.timeout(5_000) })
  }
}

function checkCorrelation(id: string): string {
  if (!CORRELATION_ID_PATTERN.test(id)) throw X402Error.of('INVALID_MESSAGE', 'bad correlation_id')
  return id
}

/** Go signs with `crypto.Sign`, so v ∈ {0, 1}; EIP-3009 tokens and viem want 27/28. */
export function normalizeV(signature: string): Hex {
  const sig = (signature.startsWith('0x') ? signature : `0x${signature}`) as Hex
  if (sig.length !== 132) return sig
  const v = Number.parseInt(sig.slice(130), 16)
  return v < 27 ? (`${sig.slice(0, 130)}${(v + 27).toString(16)}` as Hex) : sig
}
