import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { identityRegistryAbi } from '@betar/contracts'
import { type Devnet, startDevnet } from '@betar/devnet'
import { createClients, usdcBalance } from '@betar/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliRunner, type RunningSeller } from './cli-harness.ts'

const PRICE = 250_000n

function stopped(seller: RunningSeller): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => seller.child.once('exit', resolve))
  seller.child.kill('SIGTERM')
  return exited
}

/**
 * Issue 11, case 1 and 2, with separate processes: `betar start` on the default listen address (an OS-chosen port) is
 * stopped and restarted on the same data dir. It comes back on the same address with the same peer id and the same
 * ERC-8004 agent — no `Registered` event, no transaction at all — and re-announces its listing; a buyer that knew it
 * before finds the fresh listing and buys again.
 */
describe('a restarted seller keeps its identity, address and agent', () => {
  let devnet: Devnet
  let dir: string
  let devnetFile: string

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 2 })
    dir = await mkdtemp(join(tmpdir(), 'betar-restart-'))
    devnetFile = join(dir, 'devnet.json')
    await writeFile(devnetFile, JSON.stringify(devnet.toJSON()))
    await writeFile(
      join(dir, 'agents.yaml'),
      `agents:
  - name: text-stats
    description: Counts words
    capabilities: [text-analysis]
    price: { amount: '${PRICE}' }
    executor: { kind: echo }
`
    )
  }, 60_000)
  afterAll(async () => {
    await devnet?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('restarts on the same address and agentId, sends nothing, and sells again', { timeout: 180_000 }, async () => {
    const { cli, startSeller } = cliRunner(devnetFile)
    const [sellerAccount, buyerAccount] = devnet.accounts
    const sellerEnv = { BETAR_WALLET_KEY: sellerAccount!.privateKey }
    const buyerEnv = { BETAR_WALLET_KEY: buyerAccount!.privateKey }
    const sellerArgs = ['--data-dir', join(dir, 'seller'), '--agents', join(dir, 'agents.yaml'), '--no-api']
    const { publicClient } = createClients(devnet.rpcUrl, devnet.chain, buyerAccount!.account)
    const balance = () => usdcBalance(publicClient, devnet.network, buyerAccount!.address)
    const addressOf = (out: string) => /^\s+(\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\S+)$/m.exec(out)?.[1]
    const agentIdOf = (out: string) => /ERC-8004 agentId (\d+)/.exec(out)?.[1]

    let seller = await startSeller(sellerArgs, sellerEnv)
    let log = ''
    seller.child.stdout?.on('data', (chunk: Buffer) => {
      log += chunk.toString()
    })
    const first = { address: addressOf(seller.stdout), agentId: agentIdOf(seller.stdout) }
    expect(first.address).toBeDefined()
    expect(first.agentId).toBeDefined()
    const buyerArgs = ['--data-dir', join(dir, 'buyer'), '--bootstrap', first.address!]
    const before = await balance()
    const bought = await cli(['call', 'text-analysis', '"one"', '--max-price', '1', ...buyerArgs], buyerEnv)
    expect(bought.code).toBe(0)
    // The operator's log has a line for the sale: agent, price, buyer, settlement tx, duration.
    const settled = /Settlement tx (0x[0-9a-f]{64})/.exec(bought.stdout)?.[1]
    expect(log).toMatch(new RegExp(`sold\\s+text-stats  0\\.25 USDC  buyer 12D3\\w+  tx ${settled}  \\d+ ms`))
    const seen = JSON.parse((await cli(['discover', 'text-analysis', ...buyerArgs, '--json'], buyerEnv)).stdout)
    expect(seen).toHaveLength(1)
    expect(await stopped(seller)).toBe(0)

    const restartBlock = await publicClient.getBlockNumber()
    const nonce = await publicClient.getTransactionCount({ address: sellerAccount!.address })
    seller = await startSeller(sellerArgs, sellerEnv)
    try {
      // Same address (the port it had is remembered), same agent; nothing was sent to the chain.
      expect(addressOf(seller.stdout)).toBe(first.address)
      expect(agentIdOf(seller.stdout)).toBe(first.agentId)
      expect(await publicClient.getTransactionCount({ address: sellerAccount!.address })).toBe(nonce)
      const registered = await publicClient.getContractEvents({
        address: devnet.network.erc8004.identityRegistry,
        abi: identityRegistryAbi,
        eventName: 'Registered',
        fromBlock: restartBlock
      })
      expect(registered).toEqual([])

      // The buyer (its own data dir, still holding the old version) sees the re-announced listing at once.
      const started = Date.now()
      const found = await cli(['discover', 'text-analysis', ...buyerArgs, '--json'], buyerEnv)
      // A whole CLI run, process start included (loading @betar/node under tsx takes 4–15 s on a loaded 2-core
      // machine): the bound catches a discovery that waits out its timeouts, not the machine's speed.
      expect(Date.now() - started).toBeLessThan(30_000)
      const listings = JSON.parse(found.stdout) as Array<{ updatedAt: number; multiaddrs: string[] }>
      expect(listings).toHaveLength(1)
      expect(listings[0]!.updatedAt).toBeGreaterThan(seen[0].updatedAt)
      expect(listings[0]!.multiaddrs).toContain(first.address)

      // While the node runs, its data dir is locked: the CLI says where to look instead.
      const locked = await cli(['sales', '--data-dir', join(dir, 'seller')], sellerEnv)
      expect(locked.code).toBe(1)
      expect(locked.stderr).toContain('is in use by another betar process: use its GET /sales')
      const twice = await cli(['start', ...sellerArgs], sellerEnv)
      expect(twice.code).toBe(1)
      expect(twice.stderr).toContain(`the data dir ${join(dir, 'seller')} is in use by another betar process`)

      const again = await cli(['call', 'text-analysis', '"two"', '--max-price', '1', ...buyerArgs], buyerEnv)
      expect(again.code).toBe(0)
      expect(await balance()).toBe(before - 2n * PRICE)
    } finally {
      expect(await stopped(seller)).toBe(0)
    }
    // Across both runs: two sales, 0.5 USDC earned, from the data dir.
    const sales = await cli(['sales', '--data-dir', join(dir, 'seller'), '--json'], sellerEnv)
    expect(sales.code).toBe(0)
    const { sales: list, earnings } = JSON.parse(sales.stdout)
    expect(list.map((s: { outcome: string }) => s.outcome)).toEqual(['sold', 'sold'])
    expect(earnings).toEqual([
      { agent: 'text-stats', sold: 2, refunded: 0, failed: 0, earned: (2n * PRICE).toString() }
    ])
    const text = await cli(['sales', '--data-dir', join(dir, 'seller'), '--since', '1h'], sellerEnv)
    expect(text.stdout).toContain('text-stats: 0.5 USDC from 2 sale(s); 0 refunded, 0 failed')
  })
})
