import '../../../tools/polyfills.ts'
/**
 * The source of the 100,000-listing late-joiner benchmark, in its own process as a deployed node would be: signs
 * `sellers × perSeller` listings (argv), loads them, listens on 127.0.0.1 and prints one JSON line (peer id,
 * addresses, listings held, setup ms). Runs until its parent closes stdin.
 */
import { benchNode, catalogue, currentDoc, held } from './nodes.ts'

const [sellers, perSeller] = process.argv.slice(2).map(Number) as [number, number]
const t0 = performance.now()
const state = await catalogue(sellers, perSeller)
const source = await benchNode()
await currentDoc(source).applyRemoteBulk(state, { maxUpdateSize: 1 << 30, maxStructs: 1 << 24 })
console.log(
  JSON.stringify({
    peerId: source.peerId.toString(),
    addrs: source.getMultiaddrs().map(String),
    held: held(source),
    stateBytes: state.byteLength,
    setupMs: Math.round(performance.now() - t0)
  })
)
process.stdin.resume()
process.stdin.on('end', async () => {
  await source.stop()
  process.exit(0)
})
