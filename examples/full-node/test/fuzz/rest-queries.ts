import type { FuzzTarget } from '@betar/fuzz'
import type { Hono } from 'hono'
import { fakeApi, PAID_ID, send, typedAnswer } from './fake-node.ts'

const utf8 = new TextEncoder()
const json = (v: unknown) => utf8.encode(JSON.stringify(v))
const text = new TextDecoder()

let api: { app: Hono; close: () => void } | undefined

/** The input as query parameters (a JSON object's members; anything else as one raw query string). */
function query(input: Uint8Array): string {
  try {
    const value = JSON.parse(text.decode(input)) as unknown
    if (value != null && typeof value === 'object' && !Array.isArray(value)) {
      return new URLSearchParams(
        Object.entries(value).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)])
      ).toString()
    }
  } catch {
    // not JSON: the bytes themselves, percent-encoded
  }
  return encodeURIComponent(text.decode(input)).replaceAll('%3D', '=').replaceAll('%26', '&')
}

/** The node's REST API: each input is the query of the `GET` routes that read one, and a path parameter. */
export const restQueries: FuzzTarget = {
  name: 'full-node-rest-queries',
  cost: 'heavy',
  formats: ['json'],
  maxLength: 8 * 1024,
  timeBoundMs: 1_000,
  async seeds() {
    api ??= await fakeApi()
    return [
      json({ capability: 'summarize', maxPrice: '0.25', text: 'sum', limit: '10' }),
      json({ maxPriceAtomic: '250000' }),
      json({ state: 'done', limit: '5', before: '1700000000000' }),
      json({ agent: 'summarize', outcome: 'sold', since: '0', until: '1800000000000', limit: '100' }),
      json({ id: PAID_ID })
    ]
  },
  async run(input) {
    const app = api?.app
    if (app == null) throw new Error('not set up')
    const q = query(input)
    const segment = encodeURIComponent(text.decode(input.subarray(0, 80)))
    for (const path of [`/listings?${q}`, `/calls?${q}`, `/sales?${q}`, `/calls/${segment}`]) {
      await typedAnswer(await send(app, 'GET', path), `GET ${path.split('?')[0]}`)
    }
    return undefined
  },
  isTyped: () => false,
  close() {
    api?.close()
    api = undefined
  }
}
