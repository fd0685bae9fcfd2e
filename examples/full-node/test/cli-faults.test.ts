import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Devnet, fundAccount, startDevnet } from '@betar/devnet'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliRunner } from './cli-harness.ts'

/** An agent whose `function` executor lives next to its config, in a folder that is not the working directory. */
const AGENTS_YAML = `agents:
  - name: shout
    description: Upper-cases text
    capabilities: [shouting]
    price: { amount: '10000' }
    executor: { kind: function, module: ./lib/shout.mjs }
`

let devnet: Devnet
let dir: string
let devnetFile: string
const outputs: string[] = []
const runner = () => cliRunner(devnetFile, outputs)

function key(index: number): `0x${string}` {
  const account = devnet.accounts[index]
  if (account == null) throw new Error(`no devnet account ${index}`)
  return account.privateKey
}

beforeAll(async () => {
  devnet = await startDevnet({ accounts: 2 })
  dir = await mkdtemp(join(tmpdir(), 'betar-cli-faults-'))
  devnetFile = join(dir, 'devnet.json')
  await writeFile(devnetFile, JSON.stringify(devnet.toJSON()))
  await mkdir(join(dir, 'agent', 'lib'), { recursive: true })
  await writeFile(join(dir, 'agent', 'agents.yaml'), AGENTS_YAML)
  await writeFile(join(dir, 'agent', 'lib', 'shout.mjs'), 'export default (input) => String(input).toUpperCase()\n')
}, 60_000)

afterAll(async () => {
  await devnet?.stop()
  if (dir != null) await rm(dir, { recursive: true, force: true })
})

describe('betar CLI faults (issue 11)', () => {
  it('with no peer, discover and call say the node knows no peers and how to fix it', async () => {
    const env = { BETAR_WALLET_KEY: key(1) }
    const found = await runner().cli(['discover', 'shouting', '--timeout', '2000'], env)
    expect(found.code).toBe(0)
    expect(found.stdout).toBe(
      'No seller offers "shouting": this node is connected to no peers, so it cannot find sellers: pass ' +
        "--bootstrap <multiaddr> (the address a running node prints, e.g. a seller's `betar start` output).\n"
    )
    const called = await runner().cli(
      ['call', 'shouting', 'hi', '--max-price', '0.5', '--data-dir', join(dir, 'lonely')],
      env
    )
    expect(called.code).toBe(1)
    expect(called.stderr).toContain('no seller offers "shouting": this node is connected to no peers')
    expect(called.stderr).toContain('--bootstrap <multiaddr>')
  }, 60_000)

  it('an empty wallet is told how to fund it on the devnet, and the faucet makes the call possible', async () => {
    // Seller from the agents file, buyer with a brand-new key.
    const seller = await runner().startSeller(
      ['--agents', join(dir, 'agent', 'agents.yaml'), '--data-dir', join(dir, 'seller-2'), '--no-api'],
      { BETAR_WALLET_KEY: key(0) }
    )
    try {
      const address = /^\s+(\/ip4\/\S+)$/m.exec(seller.stdout)?.[1] ?? ''
      const fresh = generatePrivateKey()
      const wallet = privateKeyToAddress(fresh)
      const args = ['call', 'shouting', 'hey', '--max-price', '0.5', '--bootstrap', address]
      const env = { BETAR_WALLET_KEY: fresh, BETAR_DATA_DIR: join(dir, 'fresh') }
      const broke = await runner().cli(args, env)
      expect(broke.code).toBe(1)
      expect(broke.stderr).toContain(`insufficient USDC: wallet ${wallet} holds 0 USDC, the job costs 0.01 USDC`)
      expect(broke.stderr).toContain(`fund it on the devnet: betar-devnet fund ${wallet} --devnet ${devnetFile}`)
      await fundAccount({ rpcUrl: devnet.rpcUrl, usdc: devnet.contracts.usdc, address: wallet, usdcAtomic: 1_000_000n })
      const paid = await runner().cli(args, env)
      expect(paid.code, paid.stderr).toBe(0)
      expect(paid.stdout).toContain('"HEY"')
    } finally {
      const exited = new Promise<number | null>((resolve) => seller.child.once('exit', resolve))
      seller.child.kill('SIGTERM')
      expect(await exited).toBe(0)
    }
  }, 120_000)

  it("sells a function agent whose module is relative to the config file's folder, not the working directory", async () => {
    expect(process.cwd()).not.toBe(join(dir, 'agent'))
    const seller = await runner().startSeller(
      ['--agents', join(dir, 'agent', 'agents.yaml'), '--data-dir', join(dir, 'seller'), '--no-api'],
      { BETAR_WALLET_KEY: key(0) }
    )
    try {
      expect(seller.stdout).toContain('Selling "shout"')
      const address = /^\s+(\/ip4\/\S+)$/m.exec(seller.stdout)?.[1]
      expect(address).toBeDefined()
      const listed = await runner().cli(['discover', 'shouting', '--bootstrap', address ?? '', '--json'], {
        BETAR_WALLET_KEY: key(1)
      })
      expect(listed.code).toBe(0)
      expect(JSON.parse(listed.stdout)).toEqual([
        expect.objectContaining({
          name: 'shout',
          priceUsdc: '0.01',
          price: expect.objectContaining({ amount: '10000' })
        })
      ])
      const called = await runner().cli(
        ['call', 'shouting', 'quiet please', '--max-price', '0.01', '--bootstrap', address ?? '', '--json'],
        { BETAR_WALLET_KEY: key(1), BETAR_DATA_DIR: join(dir, 'buyer') }
      )
      expect(called.code, called.stderr).toBe(0)
      expect(JSON.parse(called.stdout)).toMatchObject({ output: 'QUIET PLEASE', amount: '10000', amountUsdc: '0.01' })
    } finally {
      const exited = new Promise<number | null>((resolve) => seller.child.once('exit', resolve))
      seller.child.kill('SIGTERM')
      expect(await exited).toBe(0)
    }
  }, 120_000)
})
