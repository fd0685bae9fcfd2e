import {
  type Address,
  decodeFunctionData,
  encodeFunctionResult,
  getAddress,
  type Hex,
  multicall3Abi,
  type PublicClient
} from 'viem'
import { describe, expect, it } from 'vitest'
import { type BatchOutcome, SettlementBatcher } from '../src/settlement/batch.ts'
import type { ReceiptWatcher } from '../src/settlement/receipt-watcher.ts'
import type { SettlementSender } from '../src/settlement/sender.ts'

const SELLER = getAddress('0x00000000000000000000000000000000000000aa')
const TOKEN = getAddress('0x00000000000000000000000000000000000000bb')
const fees = { maxFeePerGas: 2n, maxPriorityFeePerGas: 1n }
const payer = (i: number): Address => getAddress(`0x${(0x100 + i).toString(16).padStart(40, '0')}`)
/** A member's transfer calldata: names its payer, so the fake chain knows whose code runs. */
const callOf = (i: number) => ({
  from: SELLER,
  to: TOKEN,
  data: `0x${(0x100 + i).toString(16).padStart(8, '0')}` as Hex,
  gas: 150_000n,
  fees
})

/**
 * A chain whose `burner` payer's ERC-1271 check spends all the gas it is given: alone, its transfer runs out of gas
 * under its cap; inside `aggregate3` (each call gets all the gas left) the whole batch runs out of gas. `hasCode`
 * answers the batcher's code read.
 */
function fakeChain(burner: number, hasCode: (i: number) => boolean) {
  const calls: Array<{ batch: number[] } | { alone: number }> = []
  const burnerData = callOf(burner).data
  const reader = {
    async request({ params }: { method: string; params: [{ to: Address; data: Hex }] }): Promise<Hex> {
      const [tx] = params
      if (getAddress(tx.to) === TOKEN) {
        const i = Number.parseInt(tx.data.slice(2), 16) - 0x100
        calls.push({ alone: i })
        if (tx.data === burnerData) throw Object.assign(new Error('out of gas'), { code: 3, details: 'out of gas' })
        return '0x'
      }
      const { args } = decodeFunctionData({ abi: multicall3Abi, data: tx.data })
      const members = (args[0] as ReadonlyArray<{ callData: Hex }>).map(
        (c) => Number.parseInt(c.callData.slice(2), 16) - 0x100
      )
      calls.push({ batch: members })
      if (members.includes(burner)) throw Object.assign(new Error('out of gas'), { code: 3, details: 'out of gas' })
      return encodeFunctionResult({
        abi: multicall3Abi,
        functionName: 'aggregate3',
        result: members.map(() => ({ success: true, returnData: '0x' as Hex }))
      })
    },
    async getCode() {
      return '0x'
    }
  } as unknown as PublicClient
  const sent: Hex[] = []
  const sender = {
    address: SELLER,
    currentFees: async () => fees,
    async submit(request: { data: Hex }, persist: (tx: { hash: Hex; at: number }) => Promise<void>) {
      sent.push(request.data)
      await persist({ hash: `0x${sent.length.toString(16).padStart(64, '0')}`, at: Date.now() })
      return { result: 'sent' }
    }
  } as unknown as SettlementSender
  const watcher = { nextBlockDue: () => undefined } as unknown as ReceiptWatcher
  const batcher = new SettlementBatcher(sender, reader, watcher, { minLingerMs: 5, maxLingerMs: 5 }, async (accounts) =>
    accounts.map((a) => hasCode(Number.parseInt(a.slice(2), 16) - 0x100))
  )
  return { batcher, calls, sent }
}

const submit = (batcher: SettlementBatcher, i: number): Promise<BatchOutcome> =>
  batcher.submit({ id: `${payer(i)}/0x0${i}`, payer: payer(i), call: callOf(i), fresh: true, persist: async () => {} })

describe('SettlementBatcher: one member cannot hold the others back', () => {
  it('a batch that fails as a whole: the members are simulated alone, the one failing alone is left out, the rest are batched', async () => {
    const { batcher, calls, sent } = fakeChain(1, () => false)
    const outcomes = await Promise.all([0, 1, 2].map((i) => submit(batcher, i)))
    expect(outcomes).toEqual([{ result: 'sent' }, { reason: 'settlement_gas_over_cap' }, { result: 'sent' }])
    expect(calls).toEqual([{ batch: [0, 1, 2] }, { alone: 0 }, { alone: 1 }, { alone: 2 }, { batch: [0, 2] }])
    expect(sent).toHaveLength(1)
    const { args } = decodeFunctionData({ abi: multicall3Abi, data: sent[0]! })
    expect((args[0] as ReadonlyArray<{ callData: Hex }>).map((c) => c.callData)).toEqual([
      callOf(0).data,
      callOf(2).data
    ])
  })

  it('a payer with code when the batch is signed is settled alone, whatever its verification found', async () => {
    const { batcher, calls, sent } = fakeChain(1, (i) => i === 1)
    const outcomes = await Promise.all([0, 1, 2].map((i) => submit(batcher, i)))
    expect(outcomes).toEqual([{ result: 'sent' }, { alone: true }, { result: 'sent' }])
    // Its code was read in parallel with the first simulation; the batch without it is simulated again.
    expect(calls).toEqual([{ batch: [0, 1, 2] }, { batch: [0, 2] }])
    expect(sent).toHaveLength(1)
  })
})
