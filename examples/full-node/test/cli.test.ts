import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Devnet, startDevnet } from '@betar/devnet'
import { createClients, usdcBalance } from '@betar/node'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { decryptKeystore, type Keystore } from '../src/cli/keystore.ts'
import { cliRunner } from './cli-harness.ts'

// Each test runs the CLI in child processes under tsx (seconds of module loading each): room for a loaded machine.
vi.setConfig({ testTimeout: 90_000 })

const AGENTS_YAML = `agents:
  - name: text-stats
    description: Counts words, characters and sentences
    capabilities: [text-analysis]
    price: { amount: '250000' }
    executor: { kind: echo }
`
const BAD_YAML = `agents:
  - name: text-stats
    description: Counts words
    capabilities: [text-analysis]
    price: { amount: 'a quarter' }
    executor: { kind: echo }
`

let devnet: Devnet
let dir: string
let devnetFile: string
/** Every output any CLI run produced, to check no private key ever appears. */
const outputs: string[] = []

/** Runs the CLI from source (see {@link cliRunner}). */
const cli = (args: string[], env: Record<string, string> = {}) => cliRunner(devnetFile, outputs).cli(args, env)
const startSeller = (args: string[], env: Record<string, string>) =>
  cliRunner(devnetFile, outputs).startSeller(args, env)

function key(index: number): `0x${string}` {
  const account = devnet.accounts[index]
  if (account == null) throw new Error(`no devnet account ${index}`)
  return account.privateKey
}

function balance(address: `0x${string}`): Promise<bigint> {
  const account = devnet.accounts[0]
  if (account == null) throw new Error('no devnet account')
  const { publicClient } = createClients(devnet.rpcUrl, devnet.chain, account.account)
  return usdcBalance(publicClient, devnet.network, address)
}

beforeAll(async () => {
  devnet = await startDevnet({ accounts: 3 })
  dir = await mkdtemp(join(tmpdir(), 'betar-cli-'))
  devnetFile = join(dir, 'devnet.json')
  await writeFile(devnetFile, JSON.stringify(devnet.toJSON()))
  await writeFile(join(dir, 'agents.yaml'), AGENTS_YAML)
  await writeFile(join(dir, 'bad.yaml'), BAD_YAML)
}, 60_000)

afterAll(async () => {
  await devnet?.stop()
  if (dir != null) await rm(dir, { recursive: true, force: true })
})

describe('betar CLI', () => {
  it('wallet show reads BETAR_WALLET_KEY and prints the USDC balance', async () => {
    const human = await cli(['wallet', 'show'], { BETAR_WALLET_KEY: key(2) })
    expect(human.code).toBe(0)
    expect(human.stdout).toContain(devnet.accounts[2]?.address)
    expect(human.stdout).toMatch(/USDC\s+10000 USDC/)
    const json = await cli(['wallet', '--json'], { BETAR_WALLET_KEY: key(2) })
    expect(JSON.parse(json.stdout)).toMatchObject({ address: devnet.accounts[2]?.address, usdc: '10000000000' })
  })

  it('wallet create writes an encrypted keystore and never prints the key', async () => {
    const dataDir = join(dir, 'created')
    const env = { MY_PASSWORD: 'correct horse battery staple' }
    const created = await cli(
      ['wallet', 'create', '--data-dir', dataDir, '--password-env', 'MY_PASSWORD', '--json'],
      env
    )
    expect(created.code).toBe(0)
    const { address, path } = JSON.parse(created.stdout) as { address: `0x${string}`; path: string }
    expect(path).toBe(join(dataDir, 'wallet.json'))
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    const keystore = JSON.parse(await readFile(path, 'utf8')) as Keystore
    expect(keystore).toMatchObject({ version: 1, kdf: 'scrypt', cipher: 'aes-256-gcm', address })
    const privateKey = await decryptKeystore(keystore, env.MY_PASSWORD)
    expect(privateKeyToAddress(privateKey)).toBe(address)
    expect(JSON.stringify(keystore).toLowerCase()).not.toContain(privateKey.slice(2).toLowerCase())

    const shown = await cli(['wallet', 'show', '--data-dir', dataDir, '--password-env', 'MY_PASSWORD'], env)
    expect(shown.code).toBe(0)
    expect(shown.stdout).toContain(address)
    expect(shown.stdout).toMatch(/USDC\s+0 USDC/)

    const wrong = await cli(['wallet', 'show', '--data-dir', dataDir, '--password-env', 'MY_PASSWORD'], {
      MY_PASSWORD: 'wrong'
    })
    expect(wrong).toMatchObject({ code: 1 })
    expect(wrong.stderr).toContain('wrong password')
    const again = await cli(['wallet', 'create', '--data-dir', dataDir, '--password-env', 'MY_PASSWORD'], env)
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('already exists')

    for (const output of outputs) expect(output.toLowerCase()).not.toContain(privateKey.slice(2).toLowerCase())
  })

  it('fails clearly without a wallet', async () => {
    const run = await cli(['wallet', 'show', '--data-dir', join(dir, 'empty')])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('no wallet: set BETAR_WALLET_KEY')
  })

  it('agents lists a YAML config, and names the failing path of a bad one', async () => {
    const ok = await cli(['agents', '--agents', join(dir, 'agents.yaml')])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toContain('text-stats  0.25 USDC  [text-analysis]  (echo)')
    const json = await cli(['agents', '--agents', join(dir, 'agents.yaml'), '--json'])
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ name: 'text-stats', price: '250000', capabilities: ['text-analysis'] })
    ])
    const bad = await cli(['agents', '--agents', join(dir, 'bad.yaml')])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('agents[0].price.amount')
    const missing = await cli(['agents', '--agents', join(dir, 'nope.yaml')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('cannot read')
  })

  it('start sells an agent; discover, call and reputation work against it from other data dirs', async () => {
    const sellerKey = key(0)
    const buyerKey = key(1)
    const sellerAddress = privateKeyToAddress(sellerKey)
    const buyerAddress = privateKeyToAddress(buyerKey)
    const seller = await startSeller(['--data-dir', join(dir, 'seller'), '--agents', join(dir, 'agents.yaml')], {
      BETAR_WALLET_KEY: sellerKey
    })
    try {
      const address = /^\s+(\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\S+)$/m.exec(seller.stdout)?.[1]
      expect(address).toBeDefined()
      const agentId = /ERC-8004 agentId (\d+)/.exec(seller.stdout)?.[1]
      expect(agentId).toBeDefined()

      // The running node serves the REST API on loopback, behind the token it generated into its data dir.
      const apiUrl = /REST API on (http:\/\/127\.0\.0\.1:\d+)/.exec(seller.stdout)?.[1]
      expect(apiUrl).toBeDefined()
      const token = (await readFile(join(dir, 'seller', 'api-token'), 'utf8')).trim()
      expect(seller.stdout).not.toContain(token)
      const status = await fetch(`${apiUrl}/status`, { headers: { authorization: `Bearer ${token}` } })
      expect(status.status).toBe(200)
      expect(((await status.json()) as { peerId: string }).peerId).toBe(address?.split('/p2p/')[1])
      expect((await fetch(`${apiUrl}/status`)).status).toBe(401)
      const agentsRes = await fetch(`${apiUrl}/agents`, { headers: { authorization: `Bearer ${token}` } })
      expect(((await agentsRes.json()) as { agents: Array<{ name: string }> }).agents.map((a) => a.name)).toEqual([
        'text-stats'
      ])
      const buyer = { BETAR_WALLET_KEY: buyerKey }
      const common = ['--bootstrap', address ?? '', '--data-dir', join(dir, 'buyer')]

      const found = await cli(['discover', 'text-analysis', ...common, '--json'], buyer)
      expect(found.code).toBe(0)
      const listings = JSON.parse(found.stdout) as Array<{ name: string; price: { amount: string; payTo: string } }>
      expect(listings).toHaveLength(1)
      expect(listings[0]).toMatchObject({ name: 'text-stats', price: { amount: '250000', payTo: sellerAddress } })

      const before = { buyer: await balance(buyerAddress), seller: await balance(sellerAddress) }
      const called = await cli(
        ['call', 'text-analysis', '"Hello there. Bye now."', '--max-price', '0.5', ...common],
        buyer
      )
      expect(called.code, called.stderr).toBe(0)
      expect(called.stdout).toContain('"sentences": 2')
      expect(called.stdout).toContain(`Paid 0.25 USDC to ${sellerAddress}`)
      expect(called.stdout).toMatch(/Settlement tx 0x[0-9a-f]{64}/)
      expect(called.stderr).toContain(`betar: payment of 0.25 USDC to ${sellerAddress} signed`)
      expect(called.stderr).toMatch(/betar: result received; settlement 0x[0-9a-f]{64} verified/)
      expect(await balance(buyerAddress)).toBe(before.buyer - 250_000n)
      expect(await balance(sellerAddress)).toBe(before.seller + 250_000n)

      const rep = await cli(['reputation', agentId ?? '', '--json', '--load-timeout', '500'], buyer)
      expect(rep.code).toBe(0)
      const { feedback } = JSON.parse(rep.stdout) as {
        feedback: Array<{ client: string; tag: string; value: number; counted: boolean; reason: string | null }>
      }
      // The one-shot `call` stored its feedback file as a data: URI, so it still verifies after that process exited.
      expect(feedback).toContainEqual(
        expect.objectContaining({ client: buyerAddress, tag: 'starred', value: 100, counted: true, reason: null })
      )

      const tooCheap = await cli(['call', 'text-analysis', 'hi', '--max-price', '0.1', ...common], buyer)
      expect(tooCheap.code).toBe(1)
      expect(tooCheap.stderr).toContain('asks 0.25 USDC, above --max-price 0.1 USDC')

      const broke = await cli(['call', 'text-analysis', 'hi', '--max-price', '1', ...common], {
        BETAR_WALLET_KEY: generatePrivateKey()
      })
      expect(broke.code).toBe(1)
      expect(broke.stderr).toContain('insufficient USDC')

      const peerId = address?.split('/p2p/')[1] ?? ''
      const unreachable = await cli(
        ['discover', 'text-analysis', '--bootstrap', `/ip4/127.0.0.1/tcp/1/p2p/${peerId}`, '--timeout', '2000'],
        buyer
      )
      expect(unreachable.code).toBe(1)
      expect(unreachable.stderr).toContain('cannot reach peer /ip4/127.0.0.1/tcp/1')
    } finally {
      const exited = new Promise<number | null>((resolve) => seller.child.once('exit', resolve))
      seller.child.kill('SIGTERM')
      expect(await exited).toBe(0)
    }
    for (const output of outputs) {
      expect(output.toLowerCase()).not.toContain(sellerKey.slice(2).toLowerCase())
      expect(output.toLowerCase()).not.toContain(buyerKey.slice(2).toLowerCase())
    }
  }, 180_000)

  it('register puts an agent on the ERC-8004 Identity Registry only', async () => {
    const args = ['register', '--agents', join(dir, 'agents.yaml'), '--data-dir', join(dir, 'registrar')]
    const run = await cli([...args, '--name', 'text-stats', '--json'], { BETAR_WALLET_KEY: key(2) })
    expect(run.code).toBe(0)
    const registration = JSON.parse(run.stdout) as { agentId: string; agentRegistry: string; uri: string }
    expect(registration.agentId).toMatch(/^\d+$/)
    expect(registration.agentRegistry).toBe(`eip155:${devnet.chainId}:${devnet.contracts.identityRegistry}`)
    expect(registration.uri).toMatch(/^ipfs:\/\//)
    // Idempotent: again from the same data dir, nothing is sent; from a lost data dir, the agent is recovered from
    // its on-chain agentName (the new node's file differs: its peer id, so only the agentURI is updated).
    const again = JSON.parse(
      (await cli([...args, '--name', 'text-stats', '--json'], { BETAR_WALLET_KEY: key(2) })).stdout
    )
    expect(again).toMatchObject({ agentId: registration.agentId, action: 'unchanged', transactions: {} })
    const lostArgs = ['register', '--agents', join(dir, 'agents.yaml'), '--data-dir', join(dir, 'registrar-lost')]
    const lost = JSON.parse(
      (await cli([...lostArgs, '--name', 'text-stats', '--json'], { BETAR_WALLET_KEY: key(2) })).stdout
    )
    expect(lost).toMatchObject({ agentId: registration.agentId, action: 'recovered' })
    expect(Object.keys(lost.transactions)).toEqual(['setAgentURI'])
    const unknown = await cli([...args, '--name', 'nobody'], { BETAR_WALLET_KEY: key(2) })
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('no agent named "nobody"')
  }, 60_000)

  it('rejects bad flags, commands and values with exit code 1', async () => {
    const cases: Array<[string[], string]> = [
      [['wallet', '--frobnicate'], "Unknown option '--frobnicate'"],
      [['frobnicate'], 'unknown command "frobnicate"'],
      [['wallet', 'show', '--network', 'mars'], '--network must be devnet, base or base-sepolia, got "mars"'],
      [
        ['call', 'text-analysis', 'hi', '--max-price', 'lots'],
        '--max-price must be a USDC amount like 0.25, got "lots"'
      ],
      [['call', 'text-analysis', 'hi'], '--max-price <usdc> is required'],
      [['discover'], 'expected 1 argument(s), got 0'],
      [['reputation', 'abc'], '<agentId> must be a non-negative integer, got "abc"'],
      [['agents'], '--agents <config.yaml> is required']
    ]
    const runs = await Promise.all(cases.map(([args]) => cli(args, { BETAR_WALLET_KEY: key(2) })))
    cases.forEach(([args, message], i) => {
      expect({ args, code: runs[i]?.code }).toEqual({ args, code: 1 })
      expect(runs[i]?.stderr).toContain(message)
    })
    const noDevnet = await cli(['wallet', 'show'], { BETAR_WALLET_KEY: key(2), BETAR_DEVNET: '' })
    expect(noDevnet.code).toBe(1)
    expect(noDevnet.stderr).toContain('--network devnet needs the devnet summary')
  }, 120_000)

  it('documents each command under --help', async () => {
    const top = await cli(['--help'])
    expect(top.code).toBe(0)
    for (const name of ['start', 'agents', 'discover', 'call', 'register', 'reputation', 'wallet']) {
      expect(top.stdout).toContain(`  ${name}`)
    }
    const call = await cli(['call', '--help'])
    expect(call.code).toBe(0)
    expect(call.stdout).toContain('--max-price <usdc>')
  })
})
