import type { WireError, WirePaymentRequired } from '../wire.ts'
import { ConformanceFailure } from './errors.ts'
import type { RawExchange } from './exchange.ts'

/** How the server answered one step of an exchange. */
export type Outcome =
  /** RESPONSE frames up to the final one, bodies concatenated; `settlement` is the final frame's. */
  | { kind: 'response'; body: Uint8Array; settlement: Uint8Array; contentType: string; frames: number }
  | { kind: 'payment-required'; paymentRequired: WirePaymentRequired }
  | { kind: 'error'; error: WireError }
  /** The stream ended (closed or reset) before an answer. */
  | { kind: 'ended'; reason: string }

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.byteLength
  }
  return out
}

/**
 * Reads the server's answer to what was just sent: one PAYMENT_REQUIRED, one ERROR, or RESPONSE frames up to the
 * final one. With `correlationId`, every frame must echo it (spec §3).
 */
export async function readOutcome(exchange: RawExchange, correlationId?: string): Promise<Outcome> {
  const bodies: Uint8Array[] = []
  for (;;) {
    const result = await exchange.read()
    if (result.kind === 'ended') {
      if (bodies.length > 0) throw new ConformanceFailure(`stream ended before the final RESPONSE (${result.reason})`)
      return { kind: 'ended', reason: result.reason }
    }
    if (result.kind === 'timeout') throw new ConformanceFailure('no answer from the server')
    const frame = result.frame
    if (correlationId != null && frame.correlationId !== correlationId) {
      throw new ConformanceFailure(
        `the server answered correlation id "${frame.correlationId}", not "${correlationId}"`
      )
    }
    switch (frame.type) {
      case 'ERROR':
        return { kind: 'error', error: frame.error }
      case 'PAYMENT_REQUIRED':
        if (bodies.length > 0) throw new ConformanceFailure('PAYMENT_REQUIRED in the middle of a response')
        return { kind: 'payment-required', paymentRequired: frame.paymentRequired }
      case 'RESPONSE': {
        bodies.push(frame.response.body)
        if (!frame.response.final) continue
        return {
          kind: 'response',
          body: concat(bodies),
          settlement: frame.response.settlement,
          contentType: frame.response.contentType,
          frames: bodies.length
        }
      }
      default:
        throw new ConformanceFailure(`the server sent a ${frame.type} frame`)
    }
  }
}

/** An error's details (JSON, spec §7) as text, cut to 200 characters; empty when it has none. */
function detailsOf(error: WireError): string {
  if (error.details.byteLength === 0) return ''
  const text = new TextDecoder('utf-8', { fatal: false }).decode(error.details.subarray(0, 400))
  return ` ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`
}

/** One line describing an outcome, for failure messages. */
export function describeOutcome(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'response':
      return `RESPONSE (${outcome.body.byteLength} bytes in ${outcome.frames} frame(s))`
    case 'payment-required':
      return 'PAYMENT_REQUIRED'
    case 'error':
      return `ERROR ${outcome.error.code} ${outcome.error.name} "${outcome.error.message}"${detailsOf(outcome.error)}`
    case 'ended':
      return `the stream ended without an answer (${outcome.reason})`
  }
}
