import { type FuzzTarget, typedBy } from '@betar/fuzz'
import { fromDataUri, toDataUri } from '../../src/data-uri.ts'
import { fileSeed } from './seeds.ts'

const latin1 = new TextDecoder('latin1')
const utf8 = new TextEncoder()

/** RFC 2397 `data:` URIs of feedback files, as read from `feedbackURI` on chain (`fromDataUri`). */
export const dataUri: FuzzTarget = {
  name: 'reputation-data-uri',
  cost: 'cheap',
  formats: [],
  maxLength: 16 * 1024,
  seeds: () => [
    utf8.encode(toDataUri(fileSeed)),
    utf8.encode(`data:application/json,${encodeURIComponent(new TextDecoder().decode(fileSeed))}`),
    utf8.encode('data:application/json;charset=utf-8;base64,e30=')
  ],
  run: (input) => fromDataUri(latin1.decode(input)),
  isTyped: typedBy('FeedbackLoadError'),
  check: (_, out) => (out instanceof Uint8Array ? undefined : 'not bytes')
}
