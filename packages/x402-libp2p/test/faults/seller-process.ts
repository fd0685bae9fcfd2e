/**
 * A seller node as its own process, for tests that kill it (`kill -9`) mid-settlement and start it again on the same
 * data dir. Configured by the JSON in `BETAR_TEST_SELLER`; prints one JSON line per event on stdout.
 */
import '../../../../tools/polyfills.ts'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { LevelDatastore } from 'datastore-level'
import { createPublicClient, createWalletClient, defineChain, type Hex, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { type LocalSettlerInit, localSettler, type PaymentAsset } from '../../src/index.ts'
import { createNode } from '../fixtures/nodes.ts'

interface Config {
  rpcUrl: string
  chainId: number
  dataDir: string
  /** libp2p private key, protobuf, hex. */
  peerKey: string
  /** The settling wallet's private key. */
  walletKey: Hex
  asset: PaymentAsset
  price: string
  confirmationTimeoutMs: number
  /** Batched settlement (`localSettler`'s `batch`). */
  batch?: LocalSettlerInit['batch']
}

const config = JSON.parse(process.env.BETAR_TEST_SELLER ?? '{}') as Config
const emit = (event: string, detail: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, ...detail })}\n`)
}

const chain = defineChain({
  id: config.chainId,
  name: 'devnet',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: [config.rpcUrl] } }
})
const transport = http(config.rpcUrl)
const account = privateKeyToAccount(config.walletKey)
const datastore = new LevelDatastore(`${config.dataDir}/datastore`)
await datastore.open()
const node = await createNode({
  privateKey: privateKeyFromProtobuf(Buffer.from(config.peerKey, 'hex')),
  datastore,
  server: {
    settler: localSettler({
      walletClient: createWalletClient({ account, chain, transport }),
      publicClient: createPublicClient({ chain, transport, pollingInterval: 20 }),
      ...(config.batch != null ? { batch: config.batch } : {})
    }),
    asset: config.asset,
    confirmationTimeoutMs: config.confirmationTimeoutMs,
    resolveIntervalMs: 500
  }
})
const server = node.services.x402Server
server.register('job', {
  price: { amount: BigInt(config.price) },
  handler: (req) => {
    emit('handler', { correlationId: req.correlationId })
    return new TextEncoder().encode(`done:${new TextDecoder().decode(req.body)}`)
  }
})
for (const name of [
  'payment:verified',
  'payment:submitted',
  'payment:settled',
  'payment:failed',
  'call:completed'
] as const) {
  server.addEventListener(name, (e) =>
    emit(name, {
      correlationId: e.detail.correlationId,
      ...(e.detail.transaction != null ? { transaction: e.detail.transaction } : {}),
      ...(e.detail.settlement != null ? { settlement: e.detail.settlement.transaction } : {})
    })
  )
}
emit('ready', { addrs: node.getMultiaddrs().map((a) => a.toString()), peer: node.peerId.toString() })
