import {
  formatTransactionReceipt,
  type Hash,
  hexToBigInt,
  numberToHex,
  type PublicClient,
  type RpcTransactionReceipt,
  type TransactionReceipt
} from 'viem'

/** After a broadcast the chain is asked again quickly (a local chain mines in milliseconds), then less often. */
const POLL_STEPS_MS = [2, 4, 8, 16, 32, 64]
/** Past a block's due time (head seen + mean interval), the next read waits this much more. */
const DUE_SLACK_MS = 20
/** Blocks read one by one when the watcher is behind; beyond this each awaited hash is asked for directly. */
const MAX_BLOCKS_PER_ROUND = 64
/** Hashes announced by {@link ReceiptWatcher.expect} are kept this long without a waiter. */
const EXPECT_TTL_MS = 10 * 60_000
/** Receipts found for announced hashes before anyone waited for them, kept for late waiters. */
const MAX_STASHED = 4_096
/** A transaction whose receipt the block reads found this soon after it was announced was mined on demand (ms). */
const ON_DEMAND_MS = 250
/**
 * A broadcast answered with its receipt (`eth_sendRawTransactionSync`) this soon still shows a chain that mines on
 * demand (ms): the node mined it during the request, however loaded the machine was. Slower, the request waited for a
 * block.
 */
const ON_DEMAND_SYNC_MS = 1_000
/** Receipts in a row that must have come that soon for the chain to count as mining on demand. */
const ON_DEMAND_SAMPLES = 3

interface Waiter {
  hashes: ReadonlySet<Hash>
  resolve: (receipt: TransactionReceipt | undefined) => void
  abort: (reason: unknown) => void
}

/**
 * Waiters by abort signal, so that a signal many waits share (a node's stop signal) carries one listener, not one per
 * wait (Node warns past 10).
 */
const bySignal = new WeakMap<AbortSignal, Set<Waiter>>()

function onAbortOf(signal: AbortSignal, waiter: Waiter): () => void {
  let set = bySignal.get(signal)
  if (set == null) {
    const waiters = new Set<Waiter>()
    set = waiters
    bySignal.set(signal, waiters)
    signal.addEventListener(
      'abort',
      () => {
        for (const w of [...waiters]) w.abort(signal.reason)
        bySignal.delete(signal)
      },
      { once: true }
    )
  }
  const waiters = set
  waiters.add(waiter)
  return () => waiters.delete(waiter)
}

/** How a {@link ReceiptWatcher} reads the chain. */
export interface ReceiptWatcherInit {
  /**
   * Longest pause between two reads of the chain head while receipts are awaited, in ms. About a block time: on a
   * chain with 2 s blocks the default reads the head twice per block, whatever the number of waiting calls.
   * @default 1000
   */
  maxPollMs?: number
}

/**
 * One watcher of new blocks per chain client, shared by every settlement, refund and verification awaiting a receipt
 * through it: each new block's receipts are read once (`eth_getBlockReceipts`, or the block's hashes and then only the
 * matching receipts where a node lacks that method) and handed to whoever waits for them. RPC requests grow with
 * blocks, not with waiting calls — before, every pending call polled for its own receipt, so 256 concurrent buyers
 * made the seller's node answer thousands of requests a second and slowed the chain it waited on.
 *
 * An RPC failure never fails a wait: the next round asks again. A hash announced with {@link expect} before its
 * broadcast is found in the first block that holds it; any other is asked for directly once when its wait starts.
 */
export class ReceiptWatcher {
  private readonly client: PublicClient
  private readonly maxPollMs: number
  private readonly waiters = new Set<Waiter>()
  /** Announced hashes (and when), which the block scan keeps receipts for even before anyone waits. */
  private readonly expected = new Map<Hash, number>()
  private readonly stash = new Map<Hash, TransactionReceipt>()
  /** The last block whose receipts were read. */
  private last: bigint | undefined
  /** When the newest head was first seen, and the mean time between heads (ms; 0 until two were seen). */
  private headAt = 0
  private interval = 0
  /** A broadcast may start a run of quick polls: once per new head (a chain that mines at once shows it at once). */
  private armed = true
  private running = false
  private step = 0
  private wake: (() => void) | undefined
  private blockReceipts = true
  /** Whether each of the last receipts of announced transactions came within {@link ON_DEMAND_MS}, newest last. */
  private quick: boolean[] = []

  constructor(client: PublicClient, init: ReceiptWatcherInit = {}) {
    this.client = client
    this.maxPollMs = init.maxPollMs ?? 1_000
  }

  /**
   * Announces a transaction about to be broadcast, so that the block scan finds it without asking for it: resolves once
   * the watcher knows the block it starts from (one `eth_blockNumber` when it was idle). Never throws. Call
   * {@link broadcast} once the node took it.
   */
  async expect(hash: Hash): Promise<void> {
    this.expected.set(hash, Date.now())
    if (this.last == null) {
      try {
        this.last = await this.head()
      } catch {
        // unknown start: the wait for this hash asks for it directly (see wait)
        this.expected.delete(hash)
      }
    }
  }

  /**
   * When the chain's next block is due (unix ms), from the heads this watcher has seen and the block interval it learnt;
   * `undefined` while no interval is known (a chain that mines on demand shows none worth aligning to). On an idle
   * watcher the last head seen is projected forward by whole intervals.
   */
  nextBlockDue(now = Date.now()): { at: number; intervalMs: number } | undefined {
    if (this.interval <= 0 || this.headAt === 0) return undefined
    let at = this.headAt + this.interval
    if (at < now) at += Math.ceil((now - at) / this.interval) * this.interval
    return { at, intervalMs: this.interval }
  }

  /**
   * Whether the chain mines on demand (a devnet with automine, a chain with instant blocks): the last receipts of
   * transactions announced here came within 250 ms (1 s for a broadcast answered with its receipt), and no block
   * interval of half a second or more was learnt.
   */
  minesOnDemand(): boolean {
    return (
      this.quick.length >= ON_DEMAND_SAMPLES &&
      this.quick.every(Boolean) &&
      (this.interval === 0 || this.interval < 500)
    )
  }

  /**
   * A receipt the node gave with the broadcast itself (`eth_sendRawTransactionSync`): handed to whoever waits for it,
   * or kept for them, as if read from its block.
   */
  received(receipt: TransactionReceipt): void {
    this.deliver(receipt, ON_DEMAND_SYNC_MS)
  }

  /** A broadcast of an announced transaction came back without its receipt in time: the chain is not that fast. */
  slow(hash: Hash): void {
    if (this.expected.has(hash)) this.sample(false)
  }

  private sample(quick: boolean): void {
    this.quick.push(quick)
    if (this.quick.length > ON_DEMAND_SAMPLES) this.quick.shift()
  }

  /**
   * The receipt of the first of `hashes` to be mined, `undefined` if none is after `timeoutMs`. Rejects only when
   * `signal` aborts (with its reason); RPC errors are retried.
   */
  async wait(
    hashes: readonly Hash[],
    timeoutMs: number,
    signal?: AbortSignal
  ): Promise<TransactionReceipt | undefined> {
    signal?.throwIfAborted()
    for (const hash of hashes) {
      const stashed = this.stash.get(hash)
      if (stashed != null) return stashed
    }
    const set = new Set(hashes)
    // Mined before the watcher could have seen it (not announced, or announced while the watcher did not know where
    // it started): ask once.
    const unannounced = hashes.filter((h) => !this.expected.has(h))
    if (this.last == null) {
      try {
        this.last = await this.head()
      } catch {
        // the loop finds the head later
      }
    }
    for (const hash of unannounced) {
      const receipt = await this.receipt(hash).catch(() => undefined)
      if (receipt != null) return receipt
    }
    return await new Promise<TransactionReceipt | undefined>((resolve, reject) => {
      let forget = () => {}
      const finish = () => {
        clearTimeout(timer)
        forget()
        this.waiters.delete(waiter)
      }
      const waiter: Waiter = {
        hashes: set,
        resolve: (receipt) => {
          finish()
          resolve(receipt)
        },
        abort: (reason) => {
          finish()
          reject(reason)
        }
      }
      const timer = setTimeout(() => waiter.resolve(undefined), Math.max(0, timeoutMs))
      if (signal != null) forget = onAbortOf(signal, waiter)
      this.waiters.add(waiter)
      this.start()
    })
  }

  /**
   * A transaction was just broadcast: ask again at once, then quickly, as a chain that mines at once (automine) has its
   * block by now or in a few ms. Once per new head: on a chain with block times, the broadcasts of one block interval
   * start one run of quick polls between them, not one each.
   */
  broadcast(): void {
    // On a chain with block times (an interval of half a second or more learnt) quick polls find nothing: the block is
    // read when it is due.
    if (this.armed && this.interval < 500) {
      this.armed = false
      this.step = 0
      this.wake?.()
    }
    this.start()
  }

  /** The pause before the next read of the head: quick after a broadcast, then until the next block is due. */
  private pause(): number {
    const quick = POLL_STEPS_MS[this.step++]
    if (quick != null) return quick
    const due = this.interval > 0 ? this.headAt + this.interval + DUE_SLACK_MS - Date.now() : 0
    return Math.min(this.maxPollMs, Math.max(due, POLL_STEPS_MS[POLL_STEPS_MS.length - 1] as number))
  }

  private start(): void {
    if (this.running || this.waiters.size === 0) return
    this.running = true
    void this.loop().finally(() => {
      this.running = false
      // A waiter that arrived as the loop was ending.
      if (this.waiters.size > 0) this.start()
    })
  }

  private async loop(): Promise<void> {
    while (this.waiters.size > 0) {
      try {
        await this.round()
      } catch {
        // the chain could not be asked: next round
      }
      if (this.waiters.size === 0) break
      const pause = this.pause()
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, pause)
        function done(): void {
          clearTimeout(timer)
          resolve()
        }
        this.wake = done
      })
      this.wake = undefined
    }
    // Idle: the next round resumes after the last block read, so a transaction announced and mined meanwhile is still
    // found in its block (or, far behind, asked for directly).
    const now = Date.now()
    for (const [hash, at] of this.expected) if (now - at > EXPECT_TTL_MS) this.expected.delete(hash)
  }

  /** Reads the blocks since the last one read and hands out the receipts found. */
  private async round(): Promise<void> {
    const head = await this.head()
    this.observe(head)
    const from = this.last == null ? head : this.last + 1n
    if (head < from) return
    if (head - from >= BigInt(MAX_BLOCKS_PER_ROUND)) {
      // Far behind (idle for long, or a node that was unreachable): ask for each awaited hash instead. Blocks are
      // skipped, so announced hashes nobody waits for yet are asked for directly when their wait starts.
      this.expected.clear()
      for (const waiter of [...this.waiters]) {
        for (const hash of waiter.hashes) {
          const receipt = await this.receipt(hash).catch(() => undefined)
          if (receipt != null) {
            this.deliver(receipt)
            break
          }
        }
      }
      this.last = head
      return
    }
    for (let n = from; n <= head; n++) {
      const awaited = new Set<Hash>(this.expected.keys())
      for (const waiter of this.waiters) for (const hash of waiter.hashes) awaited.add(hash)
      for (const receipt of await this.receiptsOf(n, awaited)) this.deliver(receipt)
      this.last = n
    }
  }

  /** Learns the chain's block interval from the heads seen (a mean over recent ones; idle gaps of a minute ignored). */
  private observe(head: bigint): void {
    const now = Date.now()
    if (this.seenHead != null && head > this.seenHead) {
      const sample = (now - this.headAt) / Number(head - this.seenHead)
      if (sample < 60_000) this.interval = this.interval === 0 ? sample : 0.7 * this.interval + 0.3 * sample
      this.armed = true
    }
    if (this.seenHead == null || head > this.seenHead) {
      this.seenHead = head
      this.headAt = now
    }
  }

  private seenHead: bigint | undefined

  private deliver(receipt: TransactionReceipt, onDemandMs = ON_DEMAND_MS): void {
    for (const waiter of [...this.waiters]) {
      if (waiter.hashes.has(receipt.transactionHash)) waiter.resolve(receipt)
    }
    // Kept for late waiters too: a batch's receipt is awaited by each of its members, not all of them waiting yet.
    const announced = this.expected.get(receipt.transactionHash)
    if (announced != null) this.sample(Date.now() - announced < onDemandMs)
    if (this.expected.delete(receipt.transactionHash)) {
      if (this.stash.size >= MAX_STASHED) this.stash.delete(this.stash.keys().next().value as Hash)
      this.stash.set(receipt.transactionHash, receipt)
    }
  }

  /** Receipts of block `n` for the `awaited` hashes. */
  private async receiptsOf(n: bigint, awaited: ReadonlySet<Hash>): Promise<TransactionReceipt[]> {
    const wanted = (hash: Hash) => awaited.has(hash)
    if (this.blockReceipts) {
      try {
        const raw = (await this.client.request({
          method: 'eth_getBlockReceipts',
          params: [numberToHex(n)]
        } as never)) as RpcTransactionReceipt[] | null
        return (raw ?? []).filter((r) => wanted(r.transactionHash)).map((r) => formatTransactionReceipt(r))
      } catch (err) {
        // A node without the method (JSON-RPC "method not found"): read the block's hashes instead from now on.
        if ((err as { code?: number }).code !== -32601 && !/not (found|supported)/i.test((err as Error).message)) {
          throw err
        }
        this.blockReceipts = false
      }
    }
    const block = await this.client.getBlock({ blockNumber: n, includeTransactions: false })
    const out: TransactionReceipt[] = []
    for (const hash of block.transactions.filter(wanted)) {
      const receipt = await this.receipt(hash)
      if (receipt != null) out.push(receipt)
    }
    return out
  }

  private async head(): Promise<bigint> {
    return hexToBigInt(await this.client.request({ method: 'eth_blockNumber' }))
  }

  private receipt(hash: Hash): Promise<TransactionReceipt | undefined> {
    return getReceipt(this.client, hash)
  }
}

/** The receipt of `hash`, `undefined` while none exists; throws when the node could not be asked. */
export async function getReceipt(client: PublicClient, hash: Hash): Promise<TransactionReceipt | undefined> {
  try {
    return await client.getTransactionReceipt({ hash })
  } catch (err) {
    if ((err as Error).name === 'TransactionReceiptNotFoundError') return undefined
    throw err
  }
}

const watchers = new WeakMap<PublicClient, ReceiptWatcher>()

/** The watcher of a chain client (one per client, so every settlement of a node shares it). */
export function receiptWatcherFor(client: PublicClient): ReceiptWatcher {
  let watcher = watchers.get(client)
  if (watcher == null) {
    watcher = new ReceiptWatcher(client)
    watchers.set(client, watcher)
  }
  return watcher
}
