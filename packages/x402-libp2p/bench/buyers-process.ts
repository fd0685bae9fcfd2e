import '../../../tools/polyfills.ts'
import { createInterface } from 'node:readline'
/**
 * Buyers in a process of their own (issue 14's curve): a seller's machine does not host its buyers, and one process
 * runs all its JavaScript on one core — with the seller and 64 buyer nodes in one process the deferred cell measured
 * that core, not the protocol. Reads one JSON line from stdin (see {@link Config}), builds the buyers, prints
 * `{"ready":true}`; then for each `{"run":<calls per buyer>}` line runs every buyer's loop and prints
 * `{"ms":…,"latencies":[…]}` (or `{"error":"…"}`). Stops when stdin closes.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PaymentRequirements } from '@x402/core/types'
import type { Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { PaymentAsset } from '../src/index.ts'
import type { Transport } from '../test/fixtures/nodes.ts'
import { type Buyers, httpBuyers, libp2pBuyers, runBuyers } from './buyers.ts'

/** What the parent sends first. Amounts are atomic USDC units, as decimal strings. */
export type Config =
  | {
      stack: 'libp2p'
      transport: Transport
      privateKeys: Hex[]
      asset: PaymentAsset
      seller: { peerId: string; addrs: string[] }
      price: string
      payTo: Hex
      preemptive?: PaymentRequirements
      deferred?: boolean
    }
  | { stack: 'http'; privateKeys: Hex[]; url: string; network: `${string}:${string}`; asset: Hex; price: string }

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
const next = async (): Promise<string | undefined> => {
  const line = await lines.next()
  return line.done === true ? undefined : line.value
}
const reply = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`)

const first = await next()
if (first == null) process.exit(0)
const config = JSON.parse(first) as Config
const signers = config.privateKeys.map((key) => privateKeyToAccount(key))
const buyers: Buyers =
  config.stack === 'libp2p'
    ? await libp2pBuyers({
        transport: config.transport,
        signers,
        asset: config.asset,
        seller: { peerId: peerIdFromString(config.seller.peerId), addrs: config.seller.addrs.map((a) => multiaddr(a)) },
        price: BigInt(config.price),
        payTo: config.payTo,
        preemptive: config.preemptive,
        deferred: config.deferred === true
      })
    : httpBuyers({
        url: config.url,
        network: config.network,
        asset: config.asset,
        price: BigInt(config.price),
        signers
      })
reply({ ready: true })
for (let line = await next(); line != null; line = await next()) {
  const { run } = JSON.parse(line) as { run: number }
  try {
    reply(await runBuyers(signers.length, run, (b) => buyers.call(b)))
  } catch (err) {
    reply({ error: (err as Error).message })
  }
}
await buyers.stop()
process.exit(0)
