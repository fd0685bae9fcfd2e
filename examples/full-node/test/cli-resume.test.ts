import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Devnet, startDevnet } from '@betar/devnet'
import { createClients, usdcBalance } from '@betar/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliRunner, type RunningSeller } from './cli-harness.ts'

const PRICE = 200_000n

/** A TCP port free right now on 127.0.0.1 (the seller restarts on the same one). */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode != null || child.signalCode != null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })
}

/**
 * Issue 10, case 4, with separate processes: the seller (`betar start`) is killed while a paid task runs and the buyer
 * (`betar call`) is killed too; both restart; `betar call --resume <id>` gets the result; the buyer was charged once;
 * `betar calls` lists the call from the journal.
 */
describe('betar call --resume after both nodes were killed mid-call', () => {
  let devnet: Devnet
  let dir: string
  let devnetFile: string

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 2 })
    dir = await mkdtemp(join(tmpdir(), 'betar-resume-'))
    devnetFile = join(dir, 'devnet.json')
    await writeFile(devnetFile, JSON.stringify(devnet.toJSON()))
    await writeFile(
      join(dir, 'agents.yaml'),
      `agents:
  - name: slow-upper
    description: Upper-cases text, slowly
    capabilities: [shout]
    price: { amount: '${PRICE}' }
    executor: { kind: function, module: ${JSON.stringify(join(import.meta.dirname, 'slow-agent.mjs'))} }
`
    )
  }, 60_000)
  afterAll(async () => {
    await devnet?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('resumes the paid call from the journal and is charged once', { timeout: 180_000 }, async () => {
    const { cli, spawnCli, startSeller } = cliRunner(devnetFile)
    const [sellerAccount, buyerAccount] = devnet.accounts
    const sellerEnv = { BETAR_WALLET_KEY: sellerAccount!.privateKey }
    const buyerEnv = { BETAR_WALLET_KEY: buyerAccount!.privateKey }
    const port = await freePort()
    const sellerArgs = [
      '--data-dir',
      join(dir, 'seller'),
      '--agents',
      join(dir, 'agents.yaml'),
      '--listen',
      `/ip4/127.0.0.1/tcp/${port}`,
      '--no-api'
    ]
    const { publicClient } = createClients(devnet.rpcUrl, devnet.chain, buyerAccount!.account)
    const balance = () => usdcBalance(publicClient, devnet.network, buyerAccount!.address)
    const before = await balance()

    let seller: RunningSeller = await startSeller(sellerArgs, sellerEnv)
    const address = /^\s+(\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\S+)$/m.exec(seller.stdout)?.[1]
    expect(address).toBeDefined()
    const buyerArgs = ['--data-dir', join(dir, 'buyer'), '--bootstrap', address!]

    // The buyer pays; once its USDC is gone (settled) the task is running: kill the seller, then the buyer.
    const buyer = spawnCli(
      ['call', 'shout', 'hello', '--max-price', '1', '--correlation-id', 'killed-mid-call', ...buyerArgs],
      buyerEnv
    )
    const deadline = Date.now() + 60_000
    while ((await balance()) === before) {
      if (Date.now() > deadline) throw new Error('the buyer never paid')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await killed(seller.child)
    await killed(buyer)
    expect(await balance()).toBe(before - PRICE)

    const interrupted = await cli(['calls', '--data-dir', join(dir, 'buyer'), '--json'], buyerEnv)
    expect(interrupted.code).toBe(0)
    expect(JSON.parse(interrupted.stdout)).toMatchObject({
      calls: [{ correlationId: 'killed-mid-call', state: 'sent', amount: PRICE.toString(), charged: null }]
    })

    seller = await startSeller(sellerArgs, sellerEnv)
    try {
      const resumed = await cli(['call', '--resume', 'killed-mid-call', ...buyerArgs, '--json'], buyerEnv, 120_000)
      expect(resumed.stderr).toContain('resuming call killed-mid-call')
      expect(resumed.code).toBe(0)
      expect(JSON.parse(resumed.stdout)).toMatchObject({
        correlationId: 'killed-mid-call',
        resumed: true,
        output: { upper: 'HELLO' },
        amount: PRICE.toString(),
        settlementCheck: 'verified'
      })
      // Charged once: the re-ask re-sent the payment signed before the kill.
      expect(await balance()).toBe(before - PRICE)

      // Resuming again answers from the journal; a new id with the same input is a new (paid) call.
      const again = await cli(['call', '--resume', 'killed-mid-call', ...buyerArgs, '--json'], buyerEnv, 120_000)
      expect(JSON.parse(again.stdout)).toMatchObject({ output: { upper: 'HELLO' } })
      expect(await balance()).toBe(before - PRICE)
      const unknown = await cli(['call', '--resume', 'never-made', ...buyerArgs], buyerEnv)
      expect(unknown.code).toBe(1)
      expect(unknown.stderr).toContain('no paid call with this correlation id')
    } finally {
      const exited = new Promise<number | null>((resolve) => seller.child.once('exit', resolve))
      seller.child.kill('SIGTERM')
      await exited
    }

    const history = await cli(['calls', '--data-dir', join(dir, 'buyer')], buyerEnv)
    expect(history.stdout).toMatch(/done\s+0\.2 USDC\s+shout\s+killed-mid-call/)
    const one = await cli(['calls', 'killed-mid-call', '--data-dir', join(dir, 'buyer'), '--json'], buyerEnv)
    expect(JSON.parse(one.stdout)).toMatchObject({ state: 'done', charged: true, output: { upper: 'HELLO' } })
  })

  it('shows each step of a call on stderr while stdout holds only the --json result', {
    timeout: 120_000
  }, async () => {
    const { cli, startSeller } = cliRunner(devnetFile)
    const [sellerAccount, buyerAccount] = devnet.accounts
    const seller = await startSeller(
      ['--data-dir', join(dir, 'seller-progress'), '--agents', join(dir, 'agents.yaml'), '--no-api'],
      { BETAR_WALLET_KEY: sellerAccount!.privateKey }
    )
    try {
      const address = /^\s+(\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\S+)$/m.exec(seller.stdout)?.[1]
      const args = ['--data-dir', join(dir, 'buyer-progress'), '--bootstrap', address!, '--correlation-id', 'watched']
      const run = await cli(['call', 'shout', 'hi', '--max-price', '1', ...args, '--json'], {
        BETAR_WALLET_KEY: buyerAccount!.privateKey
      })
      expect(run.code, run.stderr).toBe(0)
      const result = JSON.parse(run.stdout) as { correlationId: string; output: unknown; transaction: string }
      expect(result).toMatchObject({ correlationId: 'watched', output: { upper: 'HI' } })
      // In order: discovery, the seller's verification, the payment signed, sent and settled (the agent takes 3 s, so
      // the settlement is seen on-chain before the result), the result and the rating.
      const steps = [
        'betar: looking for "shout" at most 1 USDC…',
        'betar: 1 seller(s) within the price; the cheapest asks 0.2 USDC',
        'betar: connecting to "slow-upper"',
        'betar: verifying its ERC-8004 identity',
        'betar: agent ',
        `betar: payment of 0.2 USDC to ${sellerAccount!.address} signed (correlation id watched)`,
        'betar: payment sent; waiting for the seller to settle it on-chain…',
        "betar: payment settled on-chain; waiting for the agent's result…",
        `betar: result received; settlement ${result.transaction} verified`,
        'betar: rating agent '
      ]
      const at = steps.map((step) => run.stderr.indexOf(step))
      expect(
        at.every((i) => i >= 0),
        run.stderr
      ).toBe(true)
      expect([...at].sort((a, b) => a - b)).toEqual(at)
      expect(run.stdout).not.toContain('betar:')
    } finally {
      const exited = new Promise<number | null>((resolve) => seller.child.once('exit', resolve))
      seller.child.kill('SIGTERM')
      await exited
    }
  })
})
