import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

/** The error shape of every failed API response. */
export interface ApiErrorBody {
  error: { name: string; message: string; [extra: string]: unknown }
}

/** Builds `{ error: { name, message, ...extra } }`. */
export function errorBody(name: string, message: string, extra: Record<string, unknown> = {}): ApiErrorBody {
  return { error: { ...extra, name, message } }
}

/** JSON replacer: bigints become decimal strings, byte arrays become hex. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString('hex')}`
  return value
}

/** A JSON response that tolerates bigints (as decimal strings). */
export function sendJson(c: Context, value: unknown, status: ContentfulStatusCode = 200): Response {
  return c.body(JSON.stringify(value, jsonReplacer), status, { 'Content-Type': 'application/json; charset=UTF-8' })
}
