/**
 * Gas of one `giveFeedback` transaction per feedback storage, on the embedded devnet (anvil, ReputationRegistry 2.0.0).
 * The registry only emits `feedbackURI` in `NewFeedback` (it stores the hash, value and tags), so a `data:` URI costs
 * calldata (16 gas per non-zero byte) plus log data (8 gas per byte) and the memory to copy it.
 *
 * Prints one line per storage kind and a `BENCH_JSON` line. Run: `pnpm --filter @betar/reputation bench`.
 */
import type { DevnetAccount } from '@betar/devnet'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { type StoreBytes, storeAsDataUri } from '../src/data-uri.ts'
import { giveFeedback } from '../src/give-feedback.ts'
import { setupEnv } from '../test/helpers.ts'

/** An `ipfs://` URI of the exact bytes, as `ipfsFeedbackStorage` returns (nothing stored: only the URI matters here). */
const ipfsUri: StoreBytes = async (bytes) => `ipfs://${CID.createV1(raw.code, await sha256.digest(bytes)).toString()}`

const KINDS: ReadonlyArray<[string, StoreBytes]> = [
  ['data-uri', storeAsDataUri],
  ['ipfs', ipfsUri]
]
/** A full node's endpoint string: `/p2p/<peer id>/x402/<resource>`. */
const ENDPOINT = '/p2p/12D3KooWQJzXpX9dD3XAd7S4X6G1b5U5QYJwH1cUQk1KgV3ZrZsR/x402/text-stats'

const env = await setupEnv(6)
try {
  const [owner, relayer, ...buyers] = env.devnet.accounts as DevnetAccount[]
  if (owner == null || relayer == null) throw new Error('accounts')
  const results: Record<string, { firstFromClient: number; repeat: number; uriBytes: number; fileBytes: number }> = {}
  for (const [i, [kind, store]] of KINDS.entries()) {
    const buyer = buyers[i]
    if (buyer == null) throw new Error('accounts')
    // A fresh agent per kind, so the first feedback of each starts from the same registry state.
    const agentId = await env.register(owner)
    const gas: number[] = []
    let uriBytes = 0
    let fileBytes = 0
    // The first feedback of a client also adds it to the agent's client list; later ones only append.
    for (let n = 0; n < 2; n++) {
      const proof = await env.pay(buyer, owner.address, 250_000n, relayer)
      const given = await giveFeedback({
        walletClient: env.wallet(buyer),
        publicClient: env.publicClient,
        reputationRegistry: env.devnet.contracts.reputationRegistry,
        agentId,
        agentRegistry: env.agentRegistry,
        value: 95,
        endpoint: ENDPOINT,
        proof: { ...proof, correlationId: crypto.randomUUID() },
        store
      })
      const receipt = await env.publicClient.getTransactionReceipt({ hash: given.txHash })
      gas.push(Number(receipt.gasUsed))
      uriBytes = given.feedbackURI.length
      fileBytes = new TextEncoder().encode(JSON.stringify(given.file)).length
    }
    results[kind] = { firstFromClient: gas[0] ?? 0, repeat: gas[1] ?? 0, uriBytes, fileBytes }
    console.log(
      `${kind.padEnd(9)} feedbackURI ${uriBytes} B (file ${fileBytes} B): gas ${gas[0]} first from a client, ${gas[1]} repeat`
    )
  }
  const extra = (results['data-uri']?.repeat ?? 0) - (results.ipfs?.repeat ?? 0)
  console.log(`data: URI costs ${extra} gas more per feedback than an ipfs:// URI`)
  console.log(`BENCH_JSON ${JSON.stringify({ bench: 'feedback-gas', results, dataUriExtraGas: extra })}`)
} finally {
  await env.devnet.stop()
}
