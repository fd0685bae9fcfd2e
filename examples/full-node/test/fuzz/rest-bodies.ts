import type { FuzzTarget } from '@betar/fuzz'
import type { Hono } from 'hono'
import { fakeApi, PAID_ID, send, typedAnswer } from './fake-node.ts'

const utf8 = new TextEncoder()
const json = (v: unknown) => utf8.encode(JSON.stringify(v))

let api: { app: Hono; close: () => void } | undefined

interface Answer {
  status: number
  json: unknown
}

/** What a 2xx answer to a body implies the body was (checked apart from the route's zod schema). */
function violation(input: Uint8Array, answers: Record<string, Answer>): string | undefined {
  const discover = answers['/discover']
  if (discover != null && discover.status < 300) {
    const body = JSON.parse(new TextDecoder().decode(input)) as Record<string, unknown>
    const ok = Object.keys(body).length === 1 && typeof body.capability === 'string'
    // zod counts a string's length in code points, not UTF-16 units: "𝕏" is one character of the 128
    if (!ok || body.capability === '' || [...(body.capability as string)].length > 128)
      return 'discover accepted its body'
  }
  for (const [path, a] of Object.entries(answers)) {
    if (path !== '/discover' && a.status < 300) return `${path} succeeded on a node that can neither buy nor fund`
  }
  return undefined
}

/** The node's REST API: each input is the JSON body of `POST /discover`, `POST /calls` and `POST /faucet`. */
export const restBodies: FuzzTarget = {
  name: 'full-node-rest-bodies',
  cost: 'heavy',
  formats: ['json'],
  maxLength: 70 * 1024,
  timeBoundMs: 1_000,
  async seeds() {
    api ??= await fakeApi()
    return [
      json({ capability: 'summarize' }),
      json({ capability: 'summarize', input: { text: 'hello', lang: 'en' }, maxPrice: '0.25', rating: 90 }),
      json({ capability: 'summarize', input: 'x', maxPriceAtomic: '250000', correlationId: PAID_ID, minScore: 50 }),
      json({ correlationId: PAID_ID }),
      json({ capability: 'summarize', input: [1, 2], maxPrice: '1', feedbackStorage: 'node' }),
      json({ address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', usdc: '100', eth: '0.5' }),
      json({})
    ]
  },
  async run(input) {
    const app = api?.app
    if (app == null) throw new Error('not set up')
    const answers: Record<string, Answer> = {}
    for (const path of ['/discover', '/calls', '/faucet']) {
      answers[path] = (await typedAnswer(await send(app, 'POST', path, input), `POST ${path}`)) as Answer
    }
    return answers
  },
  isTyped: () => false,
  check: (input, answers) => violation(input, answers as Record<string, Answer>),
  close() {
    api?.close()
    api = undefined
  }
}
