import type { SettleResponse } from '@x402/core/types'
import { isAddress } from 'viem'
import { ErrorCode, type ErrorCodeName, RETRYABLE } from '../errors.ts'
import { parseSettleResponseBytes } from '../payment.ts'
import type { WireError } from '../wire.ts'
import { ConformanceFailure, check } from './errors.ts'
import { describeOutcome, type Outcome } from './outcome.ts'

/** A final RESPONSE. */
export type ResponseOutcome = Extract<Outcome, { kind: 'response' }>

/** The outcome must be an ERROR with exactly this code, name and retryable flag (spec §8). */
export function expectError(outcome: Outcome, name: ErrorCodeName, context = ''): WireError {
  const prefix = context !== '' ? `${context}: ` : ''
  if (outcome.kind !== 'error') {
    throw new ConformanceFailure(`${prefix}expected ERROR ${name}, got ${describeOutcome(outcome)}`)
  }
  const { error } = outcome
  check(
    error.code === ErrorCode[name] && error.name === name,
    () => `${prefix}expected ERROR ${ErrorCode[name]} ${name}, got ${describeOutcome(outcome)}`
  )
  check(
    error.retryable === RETRYABLE[name],
    `${prefix}${name} must have retryable=${RETRYABLE[name]} (spec §8), got ${error.retryable}`
  )
  return error
}

/** The outcome must be a final RESPONSE. */
export function expectResponse(outcome: Outcome, context = ''): ResponseOutcome {
  if (outcome.kind !== 'response') {
    throw new ConformanceFailure(
      `${context !== '' ? `${context}: ` : ''}expected RESPONSE, got ${describeOutcome(outcome)}`
    )
  }
  return outcome
}

const TX_HASH = /^0x[0-9a-fA-F]{64}$/

/** The final RESPONSE of a paid call: its settlement is an x402 v2 SettleResponse with success and a tx hash. */
export function expectSettlement(response: ResponseOutcome, network: string): SettleResponse {
  check(response.settlement.byteLength > 0, 'the final RESPONSE of a paid call carries no settlement (spec §3)')
  let settlement: SettleResponse
  try {
    settlement = parseSettleResponseBytes(response.settlement)
  } catch (err) {
    throw new ConformanceFailure(`settlement is not an x402 SettleResponse: ${(err as Error).message}`)
  }
  check(settlement.success, () => `settlement.success is false (${settlement.errorReason ?? 'no reason'})`)
  check(TX_HASH.test(settlement.transaction), `settlement.transaction "${settlement.transaction}" is not a tx hash`)
  check(settlement.network === network, `settlement.network is ${settlement.network}, not ${network}`)
  return settlement
}

/** Address equality that is false (rather than throwing) when either side is not an address. */
export function sameAddress(a: string, b: string): boolean {
  return isAddress(a, { strict: false }) && isAddress(b, { strict: false }) && a.toLowerCase() === b.toLowerCase()
}

/** Byte equality. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i])
}
