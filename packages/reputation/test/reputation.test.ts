import { reputationRegistryAbi } from '@betar/contracts'
import type { DevnetAccount } from '@betar/devnet'
import { MemoryDatastore } from 'datastore-core'
import { keccak256, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createReputation,
  encodeFeedbackFile,
  feedbackHash,
  giveFeedback,
  type ProofOfPayment,
  type Reputation,
  revokeFeedback,
  SelfFeedbackError,
  storeAsDataUri,
  toDataUri
} from '../src/index.ts'
import { type Env, setupEnv } from './helpers.ts'

const USDC = 1_000_000n

describe('payment-backed reputation on the devnet', () => {
  let env: Env
  let owner: DevnetAccount
  let agentWallet: DevnetAccount
  let buyerA: DevnetAccount
  let buyerB: DevnetAccount
  let sybil: DevnetAccount
  let relayer: DevnetAccount
  let agentId: bigint
  let reputation: Reputation
  let proofA: ProofOfPayment

  const rate = (buyer: DevnetAccount, value: number, proof: ProofOfPayment, extra: { tag1?: string } = {}) =>
    giveFeedback({
      walletClient: env.wallet(buyer),
      publicClient: env.publicClient,
      reputationRegistry: env.devnet.contracts.reputationRegistry,
      agentId,
      agentRegistry: env.agentRegistry,
      value,
      proof,
      store: storeAsDataUri,
      endpoint: '/betar/x402/1.0.0',
      ...extra
    })

  const newReputation = () =>
    createReputation({
      publicClient: env.publicClient,
      identityRegistry: env.devnet.contracts.identityRegistry,
      reputationRegistry: env.devnet.contracts.reputationRegistry,
      asset: env.devnet.contracts.usdc,
      datastore: new MemoryDatastore()
    })

  beforeAll(async () => {
    env = await setupEnv(8)
    ;[owner, agentWallet, buyerA, buyerB, sybil, relayer] = env.devnet.accounts as [
      DevnetAccount,
      DevnetAccount,
      DevnetAccount,
      DevnetAccount,
      DevnetAccount,
      DevnetAccount
    ]
    agentId = await env.register(owner)
    await env.setAgentWallet(agentId, owner, agentWallet)
    reputation = newReputation()
  }, 60_000)

  afterAll(async () => {
    await env?.devnet.stop()
  })

  it('counts feedback backed by a real EIP-3009 payment to the agent wallet', async () => {
    proofA = await env.pay(buyerA, agentWallet.address, 5n * USDC, relayer)
    const result = await rate(buyerA, 90, proofA)
    expect(result.feedbackIndex).toBe(1n)
    expect(result.feedbackURI.startsWith('data:application/json;base64,')).toBe(true)
    expect(result.feedbackHash).toBe(feedbackHash(encodeFeedbackFile(result.file)))
    const list = await reputation.feedback(agentId)
    expect(list).toHaveLength(1)
    expect(list[0]).toMatchObject({ counted: true, paid: 5n * USDC, value: 90n, clientAddress: buyerA.address })
    const { starred } = await reputation.summary(agentId)
    const w = Math.log1p(5)
    expect(starred?.count).toBe(1)
    expect(starred?.paidVolume).toBe(5n * USDC)
    expect(starred?.score).toBeGreaterThan(50)
    expect(starred?.score).toBeLessThanOrEqual((50 + w * 90) / (1 + w) + 1e-9)
  })

  it("ignores a sybil's feedback without its own payment", async () => {
    // Claims buyer A's payment, then a fabricated tx, then no proof file at all.
    await rate(sybil, 0, { ...proofA, fromAddress: sybil.address })
    await rate(sybil, 0, { ...proofA, fromAddress: sybil.address, txHash: keccak256(toHex('fake')) })
    const bytes = new TextEncoder().encode('{"not":"a feedback file"}')
    await env.wallet(sybil).writeContract({
      address: env.devnet.contracts.reputationRegistry,
      abi: reputationRegistryAbi,
      functionName: 'giveFeedback',
      args: [agentId, 0n, 0, 'starred', '', '', toDataUri(bytes), feedbackHash(bytes)],
      chain: env.devnet.chain
    })
    // A hash that does not match the stored bytes.
    await env.wallet(sybil).writeContract({
      address: env.devnet.contracts.reputationRegistry,
      abi: reputationRegistryAbi,
      functionName: 'giveFeedback',
      args: [agentId, 0n, 0, 'starred', '', '', toDataUri(bytes), keccak256(toHex('other'))],
      chain: env.devnet.chain
    })
    const list = await reputation.feedback(agentId)
    const sybils = list.filter((f) => f.clientAddress === sybil.address)
    expect(sybils.map((f) => f.reason)).toEqual(['no-transfer', 'tx-not-found', 'invalid-file', 'hash-mismatch'])
    expect((await reputation.summary(agentId)).starred?.count).toBe(1)
  })

  it('rejects owner self-feedback on-chain and excludes the agent wallet', async () => {
    const proof = await env.pay(buyerB, agentWallet.address, USDC, relayer)
    await expect(rate(owner, 100, { ...proof, fromAddress: owner.address })).rejects.toBeInstanceOf(SelfFeedbackError)
    const walletPaid = await env.pay(agentWallet, agentWallet.address, 50n * USDC, relayer)
    await rate(agentWallet, 100, walletPaid)
    const list = await reputation.feedback(agentId)
    expect(list.find((f) => f.clientAddress === agentWallet.address)?.reason).toBe('excluded-address')
    expect((await reputation.summary(agentId)).starred?.count).toBe(1)
  })

  it('counts a reused payment tx once', async () => {
    const again = await rate(buyerA, 10, proofA)
    expect(again.feedbackIndex).toBe(2n)
    const list = await reputation.feedback(agentId)
    const mine = list.filter((f) => f.clientAddress === buyerA.address)
    expect(mine.map((f) => [f.counted, f.reason])).toEqual([
      [true, undefined],
      [false, 'reused-payment']
    ])
    const { starred } = await reputation.summary(agentId)
    expect(starred?.entries).toBe(1)
    expect(starred?.paidVolume).toBe(5n * USDC)
  })

  it('drops revoked feedback from the count', async () => {
    const proof = await env.pay(buyerB, agentWallet.address, 2n * USDC, relayer)
    const given = await rate(buyerB, 40, proof)
    expect((await reputation.summary(agentId)).starred?.count).toBe(2)
    await revokeFeedback({
      walletClient: env.wallet(buyerB),
      publicClient: env.publicClient,
      reputationRegistry: env.devnet.contracts.reputationRegistry,
      agentId,
      feedbackIndex: given.feedbackIndex
    })
    const { starred } = await reputation.summary(agentId)
    expect(starred?.count).toBe(1)
    const list = await reputation.feedback(agentId)
    expect(list.find((f) => f.transactionHash === given.txHash)?.reason).toBe('revoked')
  })

  it('scores per tag and deterministically for a fixed event set', async () => {
    const proof = await env.pay(buyerB, agentWallet.address, 3n * USDC, relayer)
    await rate(buyerB, 99, proof, { tag1: 'successRate' })
    const now = Date.UTC(2030, 0, 1)
    const first = await reputation.summary(agentId, { now })
    const second = await newReputation().summary(agentId, { now })
    expect(second).toEqual(first)
    expect(Object.keys(first)).toEqual(['starred', 'successRate'])
    expect(first.successRate).toMatchObject({ count: 1, paidVolume: 3n * USDC })
    // A later `now` decays the weights toward the prior, never past it.
    const later = await reputation.summary(agentId, { now: now + 365 * 24 * 3600 * 1000 })
    expect(later.starred?.confidence).toBeLessThan(first.starred?.confidence ?? 0)
    const tagged = await reputation.summary(agentId, { tags: ['starred', 'uptime'], now })
    expect(Object.keys(tagged)).toEqual(['starred', 'uptime'])
    expect(tagged.uptime).toMatchObject({ count: 0, score: null })
  })

  it("excludes a former owner's feedback after a transfer", async () => {
    const [, , , , , , formerOwner, newOwner] = env.devnet.accounts as DevnetAccount[]
    if (formerOwner == null || newOwner == null) throw new Error('accounts')
    const agent2 = await env.register(formerOwner)
    const { identityRegistryAbi } = await import('@betar/contracts')
    const hash = await env.wallet(formerOwner).writeContract({
      address: env.devnet.contracts.identityRegistry,
      abi: identityRegistryAbi,
      functionName: 'transferFrom',
      args: [formerOwner.address, newOwner.address, agent2],
      chain: env.devnet.chain
    })
    await env.publicClient.waitForTransactionReceipt({ hash })
    // The wallet was cleared by the transfer, so payments go to the new owner.
    const proof = await env.pay(formerOwner, newOwner.address, 10n * USDC, relayer)
    const given = await giveFeedback({
      walletClient: env.wallet(formerOwner),
      publicClient: env.publicClient,
      reputationRegistry: env.devnet.contracts.reputationRegistry,
      agentId: agent2,
      agentRegistry: env.agentRegistry,
      value: 100,
      proof,
      store: storeAsDataUri
    })
    expect(given.feedbackIndex).toBe(1n) // accepted on-chain
    const proofB = await env.pay(buyerB, newOwner.address, USDC, relayer)
    await giveFeedback({
      walletClient: env.wallet(buyerB),
      publicClient: env.publicClient,
      reputationRegistry: env.devnet.contracts.reputationRegistry,
      agentId: agent2,
      agentRegistry: env.agentRegistry,
      value: 70,
      proof: proofB,
      store: storeAsDataUri
    })
    const list = await reputation.feedback(agent2)
    expect(list.map((f) => [f.clientAddress, f.reason])).toEqual([
      [formerOwner.address, 'excluded-address'],
      [buyerB.address, undefined]
    ])
    expect((await reputation.summary(agent2)).starred?.count).toBe(1)
  })

  it('rejects feedback whose file nobody serves as unloadable after loadTimeoutMs, instead of stalling the score', async () => {
    const buyer = buyerB
    const proof = await env.pay(buyer, agentWallet.address, USDC, relayer)
    // Stored on a "peer" that is offline: the URI is real, but loading it never answers.
    await giveFeedback({
      walletClient: env.wallet(buyer),
      publicClient: env.publicClient,
      reputationRegistry: env.devnet.contracts.reputationRegistry,
      agentId,
      agentRegistry: env.agentRegistry,
      value: 10,
      proof,
      store: async () => 'ipfs://bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
    })
    const stalledReputation = () =>
      createReputation({
        publicClient: env.publicClient,
        identityRegistry: env.devnet.contracts.identityRegistry,
        reputationRegistry: env.devnet.contracts.reputationRegistry,
        asset: env.devnet.contracts.usdc,
        datastore: new MemoryDatastore(),
        loadTimeoutMs: 200,
        load: (_uri, options) =>
          new Promise((_, reject) => {
            options?.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true })
          })
      })
    const stalled = stalledReputation()
    const list = await stalled.feedback(agentId)
    expect(list.find((f) => f.feedbackURI.startsWith('ipfs://'))).toMatchObject({
      counted: false,
      status: 'unverified',
      reason: 'unloadable'
    })
    expect((await stalled.summary(agentId, { skipSync: true })).starred?.unverified).toBe(1)
    // The caller's own abort still aborts the whole call instead of turning into verdicts.
    await expect(stalledReputation().feedback(agentId, { signal: AbortSignal.timeout(50) })).rejects.toThrow()
  })

  it('feedback spam with files nobody serves: one shared load deadline per call, and failed files are not retried for a while', async () => {
    const spammer = buyerB
    const proof = await env.pay(spammer, agentWallet.address, USDC, relayer)
    for (let i = 0; i < 40; i++) {
      await giveFeedback({
        walletClient: env.wallet(spammer),
        publicClient: env.publicClient,
        reputationRegistry: env.devnet.contracts.reputationRegistry,
        agentId,
        agentRegistry: env.agentRegistry,
        value: 0,
        proof,
        store: async () => `ipfs://spam-${i}`
      })
    }
    const loads: string[] = []
    const aborted: number[] = []
    const spammed = createReputation({
      publicClient: env.publicClient,
      identityRegistry: env.devnet.contracts.identityRegistry,
      reputationRegistry: env.devnet.contracts.reputationRegistry,
      asset: env.devnet.contracts.usdc,
      datastore: new MemoryDatastore(),
      loadTimeoutMs: 300,
      retryUnloadableMs: 60_000,
      load: (uri, options) => {
        loads.push(uri)
        return new Promise((_, reject) => {
          const signal = options?.signal
          if (signal?.aborted === true) return reject(signal.reason)
          const onAbort = () => {
            aborted.push(Date.now())
            reject(signal?.reason)
          }
          signal?.addEventListener('abort', onAbort, { once: true })
        })
      }
    })
    const first = await spammed.feedback(agentId)
    const spam = first.filter((f) => f.feedbackURI.startsWith('ipfs://spam-'))
    expect(spam).toHaveLength(40)
    expect(spam.every((f) => f.status === 'unverified' && !f.counted)).toBe(true)
    // Every load of the call ended with the one deadline (the later ones started after it and ended at once): with a
    // deadline per file, 40 files at 16 at a time would end in three waves, 300 ms apart.
    expect(loads.filter((u) => u.startsWith('ipfs://spam-'))).toHaveLength(40)
    expect(Math.max(...aborted) - Math.min(...aborted)).toBeLessThan(250)
    // Known unloadable: the next call does not try them at all.
    loads.length = 0
    const second = await spammed.feedback(agentId, { skipSync: true })
    expect(loads).toEqual([])
    expect(second.filter((f) => f.feedbackURI.startsWith('ipfs://spam-')).every((f) => f.status === 'unverified')).toBe(
      true
    )
  }, 60_000)
})
