import { MemoryDatastore } from 'datastore-core'
import type { Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import type { SettlementAttempt } from '../src/settlement/settler.ts'
import { BatchStore } from '../src/store/batches.ts'

const tx = (hash: string, raw: string) => ({ hash: hash as Hex, raw: raw as Hex, nonce: 1, at: 1 })
const attempt = (members: string[], ...transactions: ReturnType<typeof tx>[]): SettlementAttempt => ({
  transactions,
  batch: { id: 'b1', members }
})

/** A datastore counting puts under the batch prefix, failing the first `failures` of them. */
class CountingDatastore extends MemoryDatastore {
  puts = 0
  failures = 0
  override put(...args: Parameters<MemoryDatastore['put']>): ReturnType<MemoryDatastore['put']> {
    if (args[0].toString().startsWith('/betar/x402/batches/')) {
      this.puts++
      if (this.failures > 0) {
        this.failures--
        throw new Error('disk full')
      }
    }
    return super.put(...args)
  }
}

describe('BatchStore: what a batch’s members share, stored once', () => {
  it('writes a batch once for all its members, before any of them resolves, and leaves it out of their records', async () => {
    const datastore = new CountingDatastore()
    const store = new BatchStore(datastore)
    const members = Array.from({ length: 64 }, (_, i) => `0xpayer/${i}`)
    const full = attempt(members, tx('0xh1', '0x02aa'))
    const stored = await Promise.all(members.map(() => store.detach(full, Date.now() + 60_000)))
    expect(datastore.puts).toBe(1)
    for (const s of stored) {
      expect(s?.transactions).toEqual([{ hash: '0xh1', nonce: 1, at: 1 }])
      expect(s?.batch).toEqual({ id: 'b1', members: [] })
    }
    // A replacement (same batch, a new transaction) is added to the batch before the records that name it.
    const replaced = await store.detach(attempt(members, tx('0xh1', '0x02aa'), tx('0xh2', '0x02bb')), Date.now() + 1)
    expect(datastore.puts).toBe(2)
    // Members saved a little later (each record expiring a little later): no new write.
    await store.detach(full, Date.now() + 61_000)
    expect(datastore.puts).toBe(2)
    expect(replaced?.transactions.map((t) => t.raw)).toEqual([undefined, undefined])
    // A restarted node (a new store on the same datastore) gets everything back from any member's record.
    const restarted = new BatchStore(datastore)
    const back = await restarted.attach(replaced)
    expect(back?.transactions.map((t) => t.raw)).toEqual(['0x02aa', '0x02bb'])
    expect(back?.batch?.members).toEqual(members)
    // Not a batch: as it is.
    const single = { transactions: [tx('0xh3', '0x02cc')] }
    expect(await store.detach(single, 1)).toBe(single)
    expect(await store.attach(single)).toBe(single)
  })

  it('a failed write fails every save that needs it, and the next save writes it again', async () => {
    const datastore = new CountingDatastore()
    datastore.failures = 1
    const store = new BatchStore(datastore)
    const full = attempt(['a', 'b'], tx('0xh1', '0x02aa'))
    const saves = await Promise.allSettled([store.detach(full, Date.now() + 60_000), store.detach(full, 1)])
    expect(saves.map((s) => s.status)).toEqual(['rejected', 'rejected'])
    await expect(store.detach(full, Date.now() + 60_000)).resolves.toBeDefined()
    expect(datastore.puts).toBe(2)
    expect((await new BatchStore(datastore).attach(await store.detach(full, 1)))?.transactions[0]?.raw).toBe('0x02aa')
  })

  it('keeps a batch as long as the longest-kept record that names it (a record kept for a refund outlives its TTL)', async () => {
    const datastore = new CountingDatastore()
    const store = new BatchStore(datastore)
    const t0 = Date.now()
    const members = ['a', 'b']
    await store.detach(attempt(members, tx('0xh1', '0x02aa')), t0 + 1_000)
    const kept = await store.detach(attempt(members, tx('0xh1', '0x02aa')), Number.MAX_SAFE_INTEGER)
    expect(datastore.puts).toBe(2)
    // Long after the first member's record expired, a restarted node still finds the batch for the kept one.
    expect(await new BatchStore(datastore).gc(t0 + 24 * 3600_000)).toBe(0)
    const back = await new BatchStore(datastore).attach(kept)
    expect(back?.transactions.map((t) => t.raw)).toEqual(['0x02aa'])
  })
})
