import '../../../tools/polyfills.ts'
/**
 * Marketplace nodes in a process of their own, for the 100-node benchmark: a deployed node has a process (and a core)
 * to itself, while one process runs all its JavaScript on one core — 100 nodes in one process measured that core.
 * Starts `argv[2]` nodes, prints `{"addrs":[[…],…]}` (each node's multiaddrs); then answers one JSON line per command:
 * `{"dial":[[node,[addr,…]],…]}` → `{"ok":true}` (dials retried), `{"publish":[[node,prefix,count],…]}` →
 * `{"ok":true}` (each node publishes `count` listings as one catalogue), `{"held":true}` → `{"held":[n,…]}`. Stops
 * its nodes when stdin closes.
 */
import { createInterface } from 'node:readline'
import { multiaddr } from '@multiformats/multiaddr'
import { benchListing, benchNode, held } from './nodes.ts'
import { profileWindow } from './profile.ts'

const count = Number(process.argv[2])
const nodes = await Promise.all(Array.from({ length: count }, () => benchNode()))
const reply = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`)
reply({ addrs: nodes.map((n) => n.getMultiaddrs().map(String)) })

let stopProfile: (() => Promise<void>) | undefined

type Command = { dial: Array<[number, string[]]> } | { publish: Array<[number, string, number]> } | { held: true }

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as Command
  try {
    if ('dial' in command) {
      await Promise.all(
        command.dial.map(async ([node, addrs]) => {
          for (let attempt = 1; ; attempt++) {
            try {
              await nodes[node]?.dial(
                addrs.map((a) => multiaddr(a)),
                { signal: AbortSignal.timeout(20_000) }
              )
              return
            } catch (err) {
              if (attempt >= 5) throw err
            }
          }
        })
      )
      reply({ ok: true })
    } else if ('publish' in command) {
      // BENCH_CPUPROFILE: this process's main thread from the publish until stdin closes.
      stopProfile ??= await profileWindow(`converge100-process-${process.pid}`)
      await Promise.all(
        command.publish.map(([node, prefix, n]) =>
          nodes[node]?.services.market.publishMany(Array.from({ length: n }, (_, i) => benchListing(`${prefix}-${i}`)))
        )
      )
      reply({ ok: true })
    } else {
      reply({ held: nodes.map(held) })
    }
  } catch (err) {
    reply({ error: (err as Error).message })
  }
}
await stopProfile?.()
await Promise.all(nodes.map((n) => n.stop()))
process.exit(0)
