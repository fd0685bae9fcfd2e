import {
  type Address,
  decodeErrorResult,
  decodeFunctionResult,
  encodeFunctionData,
  type Hex,
  multicall3Abi,
  numberToHex,
  type PublicClient
} from 'viem'
import {
  BATCH_BASE_GAS,
  BATCH_GAS_PER_CALL,
  DEFAULT_BATCH_MAX_LINGER_MS,
  DEFAULT_BATCH_MAX_SIZE,
  DEFAULT_BATCH_MIN_LINGER_MS,
  MULTICALL3_ADDRESS
} from '../constants.ts'
import type { LiveState } from './live-transaction.ts'
import type { ReceiptWatcher } from './receipt-watcher.ts'
import { classifyRpcError } from './rpc-errors.ts'
import type { BroadcastResult, Fees, SettlementSender } from './sender.ts'
import { type SettlementTransaction, SettlerUnavailableError } from './settler.ts'
import { revertToReason, type SettlementCall, simulateSettlement } from './simulation.ts'

/** Batched settlement options of {@link localSettler} (`batch`). */
export interface BatchInit {
  /** Most authorizations in one batch transaction; a full batch closes at once. @default 64 */
  maxSize?: number
  /**
   * Shortest wait for more members (ms), and the whole wait on a chain that mines on demand. @default 5
   */
  minLingerMs?: number
  /**
   * Longest wait for more members (ms). On a chain with block times (learnt by the receipt watcher) a batch closes
   * shortly before the next block is due, so that it makes that block. @default 2000
   */
  maxLingerMs?: number
  /** Where Multicall3 is deployed. @default its canonical address, 0xcA11bde05977b3631167028862bE2a173976CA11 */
  multicall3?: Address
}

/** What the batch of a settlement is, as persisted in its attempt. */
export interface BatchRef {
  id: string
  members: string[]
}

/** One authorization waiting for a batch. */
export interface BatchMember {
  /** The authorization id (`payer/nonce`, lower case). */
  id: string
  /** The payer (`from`): a payer with code now is settled alone. */
  payer: Address
  /** Its own settlement call (`transferWithAuthorization` on the token, under its gas cap). */
  call: SettlementCall
  /** Its verification simulated this very call moments ago (a batch of one is then sent without simulating again). */
  fresh: boolean
  /**
   * Persists a signed transaction that carries this member (and, for a batch of several, the batch) to its record;
   * awaited before the broadcast.
   */
  persist(tx: SettlementTransaction, batch: BatchRef | undefined): Promise<void>
  signal?: AbortSignal
}

/**
 * What became of a member: the node's answer to the transaction that carries it, or why it was left out (its own
 * transfer would fail now: an x402 reason such as `invalid_exact_evm_insufficient_balance`), or `alone` — it must be
 * settled in a transaction of its own: its payer has code now (its ERC-1271 check would run inside the shared
 * transaction), or the batch failed as a whole although its own transfer succeeds alone.
 */
export type BatchOutcome = { result: BroadcastResult } | { reason: string } | { alone: true }

/** Which of these accounts have code at the latest block (read now, not from a cache). Throws when it cannot tell. */
export type CodeReader = (accounts: readonly Address[]) => Promise<boolean[]>

interface Waiting extends BatchMember {
  resolve(outcome: BatchOutcome): void
  reject(err: unknown): void
}

interface Open {
  id: string
  members: Waiting[]
  timer: ReturnType<typeof setTimeout> | undefined
  /** Closed (by its linger, when full, or once the account was idle): it takes no more members. */
  closed?: boolean
}

/** One result of `aggregate3`. */
interface Aggregate3Result {
  success: boolean
  returnData: Hex
}

/** A batch's simulation: each member's result, or the whole `aggregate3` call failed (reverted, out of gas). */
type BatchSimulation = { results: readonly Aggregate3Result[] } | { failed: string }

/**
 * Batches the settlements of one settling account into Multicall3 `aggregate3` transactions (spec §7.6): authorizations
 * ready to be sent are collected until the batch is full or its linger ends — on a chain with block times, shortly
 * before the next block is due, as learnt by the receipt watcher — and sent as one transaction in which each
 * `transferWithAuthorization` may fail alone (`allowFailure`). The batch is simulated once before it is signed; members
 * whose transfer would fail are left out with their reason. The signed transaction (raw bytes and member ids) is
 * persisted to **every** member's record before it is broadcast. Each member's settlement then reads its own outcome
 * from the receipt's `AuthorizationUsed` + `Transfer` logs: one failing authorization does not sink the others.
 *
 * Only authorizations of externally owned payers are batched: a contract wallet's ERC-1271 check runs arbitrary code,
 * whose gas inside a shared transaction would be spent for every member — and Multicall3 gives each call all the gas
 * left, so one such check can make the whole batch fail. The payers' code is read again right before a batch of
 * several is signed (an EOA can get code at any time: EIP-7702); a payer with code is settled alone. A batch whose
 * simulation fails as a whole is not sent: its members are simulated alone, those that fail alone are left out with
 * their reason, the others are batched again.
 */
export class SettlementBatcher {
  readonly multicall3: Address
  private readonly sender: SettlementSender
  private readonly reader: PublicClient
  private readonly watcher: ReceiptWatcher
  private readonly maxSize: number
  private readonly minLingerMs: number
  private readonly maxLingerMs: number
  private open: Open | undefined
  /** Members of a batch still being settled in this process, by batch id: who learns of a replacement. */
  private readonly groups = new Map<string, Map<string, (tx: SettlementTransaction) => Promise<void>>>()
  /** A batch's live transaction is tended by one member at a time. */
  private readonly tending = new Map<string, Promise<LiveState>>()
  private deployed: Promise<boolean> | undefined
  /** Batches being prepared or sent, and who waits for none to be. */
  private flushing = 0
  private flushed: Array<() => void> = []
  private readonly codes: CodeReader

  constructor(
    sender: SettlementSender,
    reader: PublicClient,
    watcher: ReceiptWatcher,
    init: BatchInit = {},
    codes?: CodeReader
  ) {
    this.sender = sender
    this.reader = reader
    this.watcher = watcher
    this.codes =
      codes ??
      (async (accounts) =>
        (await Promise.all(accounts.map((address) => reader.getCode({ address })))).map((c) => c != null && c !== '0x'))
    this.maxSize = Math.max(1, init.maxSize ?? DEFAULT_BATCH_MAX_SIZE)
    this.minLingerMs = init.minLingerMs ?? DEFAULT_BATCH_MIN_LINGER_MS
    this.maxLingerMs = Math.max(this.minLingerMs, init.maxLingerMs ?? DEFAULT_BATCH_MAX_LINGER_MS)
    this.multicall3 = init.multicall3 ?? MULTICALL3_ADDRESS
  }

  /**
   * Whether Multicall3 has code on this chain (read once; a failed read is asked again next time). Without it,
   * settlements go one by one.
   */
  available(): Promise<boolean> {
    if (this.deployed == null) {
      const read = this.reader
        .getCode({ address: this.multicall3 })
        .then((code) => code != null && code !== '0x')
        .catch(() => {
          this.deployed = undefined
          return false
        })
      this.deployed = read
    }
    return this.deployed
  }

  /** Adds a member to the open batch; resolves once the transaction carrying it was broadcast (or it was left out). */
  submit(member: BatchMember): Promise<BatchOutcome> {
    return new Promise<BatchOutcome>((resolve, reject) => {
      member.signal?.throwIfAborted()
      let open = this.open
      if (open == null) {
        const batch: Open = { id: crypto.randomUUID(), members: [], timer: undefined }
        this.open = batch
        open = batch
        this.schedule(batch)
      }
      const batch = open
      const signal = member.signal
      const onAbort = (): void => {
        // Still waiting for its batch to close: leave it. Once closed, the batch's own course decides.
        const at = batch.members.indexOf(waiting)
        if (this.open === batch && at >= 0) {
          batch.members.splice(at, 1)
          reject(signal?.reason)
        }
      }
      // The signal is often the node's stop signal, shared by every settlement: the listener goes with the member.
      const done = (): void => signal?.removeEventListener('abort', onAbort)
      const waiting: Waiting = {
        ...member,
        resolve: (outcome) => {
          done()
          resolve(outcome)
        },
        reject: (err) => {
          done()
          reject(err)
        }
      }
      open.members.push(waiting)
      signal?.addEventListener('abort', onAbort, { once: true })
      if (open.members.length >= this.maxSize) this.close(open)
    })
  }

  /** How long a new batch waits for more members (ms): until shortly before the next block, or the minimum. */
  lingerMs(now = Date.now()): number {
    const due = this.watcher.nextBlockDue(now)
    // A chain that mines on demand (or whose interval is unknown): a short wait gathers what arrives together.
    if (due == null || due.intervalMs < 500) return this.minLingerMs
    // Leave the signing, persisting and broadcasting time before the block: a quarter interval, 100–500 ms.
    const margin = Math.min(500, Math.max(100, due.intervalMs / 4))
    return Math.min(this.maxLingerMs, Math.max(this.minLingerMs, due.at - margin - now))
  }

  /**
   * A member resumed in this process: it takes part in tending its batch and is told of replacements. `append` adds a
   * transaction (persisted before the broadcast) to the member's record.
   */
  join(batch: string, member: string, append: (tx: SettlementTransaction) => Promise<void>): void {
    let group = this.groups.get(batch)
    if (group == null) {
      group = new Map()
      this.groups.set(batch, group)
    }
    group.set(member, append)
  }

  /** The member's run ended (settled, void, or pending until its next run). */
  leave(batch: string, member: string): void {
    const group = this.groups.get(batch)
    group?.delete(member)
    if (group?.size === 0) this.groups.delete(batch)
  }

  /**
   * Runs `task` — the tending of the batch's live transaction (re-broadcast, replacement with the same calldata, gap
   * repair) — once at a time per batch: members waiting together share one run.
   */
  tend(batch: string, task: () => Promise<LiveState>): Promise<LiveState> {
    let running = this.tending.get(batch)
    if (running == null) {
      running = task().finally(() => this.tending.delete(batch))
      this.tending.set(batch, running)
    }
    return running
  }

  /** Persists a replacement of the batch's transaction to every member running in this process (before broadcast). */
  async persistAll(batch: string, tx: SettlementTransaction): Promise<void> {
    const group = this.groups.get(batch)
    if (group == null) return
    await Promise.all([...group.values()].map((append) => append(tx)))
  }

  /**
   * Arms the closing of a new batch: after its linger — or, where a broadcast is answered once mined (a chain that
   * mines on demand, `syncBroadcast`), as soon as nothing else is being sent: at once when the account is idle,
   * otherwise when the send in progress is mined, gathering meanwhile whatever arrives (group commit).
   */
  private schedule(batch: Open): void {
    if (!this.sender.answersWithReceipt) {
      batch.timer = setTimeout(() => this.close(batch), this.lingerMs())
      return
    }
    batch.timer = setTimeout(() => this.close(batch), this.maxLingerMs)
    // (A microtask first: members arriving in the same tick join it.)
    queueMicrotask(() => {
      void this.whenIdle().then(() => this.close(batch))
    })
  }

  /** Resolves once no batch is being prepared or sent and the account sends nothing else. */
  private async whenIdle(): Promise<void> {
    while (this.flushing > 0 || this.sender.busy) {
      if (this.flushing > 0) await new Promise<void>((resolve) => this.flushed.push(resolve))
      else await this.sender.idle()
    }
  }

  private close(batch: Open): void {
    if (batch.closed === true) return
    batch.closed = true
    clearTimeout(batch.timer)
    if (this.open === batch) this.open = undefined
    if (batch.members.length === 0) return
    this.flushing++
    void this.flush(batch.id, batch.members).finally(() => {
      if (--this.flushing === 0) for (const wake of this.flushed.splice(0)) wake()
    })
  }

  private async flush(id: string, members: Waiting[]): Promise<void> {
    let live: Waiting[]
    let fees: Fees
    try {
      fees = await this.sender.currentFees()
      live = await this.simulate(members, fees)
    } catch (err) {
      const unavailable =
        err instanceof SettlerUnavailableError
          ? err
          : new SettlerUnavailableError(`could not prepare a batch: ${classifyRpcError(err).message}`, { cause: err })
      for (const m of members) m.reject(unavailable)
      return
    }
    if (live.length === 0) return
    const single = live.length === 1 ? (live[0] as Waiting) : undefined
    const ref: BatchRef | undefined = single == null ? { id, members: live.map((m) => m.id) } : undefined
    // A fresh single member is signed with the very fields its verification simulated; the others as just simulated.
    const request =
      single != null ? (single.fresh ? single.call : { ...single.call, fees }) : this.batchCall(live, fees)
    if (ref != null) {
      const group = new Map<string, (tx: SettlementTransaction) => Promise<void>>()
      for (const m of live) group.set(m.id, (tx) => m.persist(tx, ref))
      this.groups.set(id, group)
    }
    try {
      const { result } = await this.sender.submit(
        { to: request.to, data: request.data, gas: request.gas, fees: request.fees },
        async (tx) => {
          await Promise.all(live.map((m) => m.persist(tx, ref)))
        }
      )
      for (const m of live) m.resolve({ result })
    } catch (err) {
      for (const m of live) m.reject(err)
    } finally {
      // From now on, each member's own run registers itself (join) while it tends the batch.
      if (ref != null) this.groups.delete(id)
    }
  }

  /** The `aggregate3` transaction carrying `members` (each call may fail alone). */
  private batchCall(members: readonly Waiting[], fees: Fees): SettlementCall {
    const data = encodeFunctionData({
      abi: multicall3Abi,
      functionName: 'aggregate3',
      args: [members.map((m) => ({ target: m.call.to, allowFailure: true, callData: m.call.data }))]
    })
    const gas = members.reduce((sum, m) => sum + m.call.gas + BATCH_GAS_PER_CALL, BATCH_BASE_GAS)
    return { from: this.sender.address, to: this.multicall3, data, gas, fees }
  }

  /**
   * The members whose transfer would succeed now, in a batch; the others are resolved with their reason, or `alone`
   * (settled in a transaction of their own). A single member whose verification just simulated this very call is not
   * simulated again. Throws when the chain could not be asked.
   */
  private async simulate(members: Waiting[], fees: Fees): Promise<Waiting[]> {
    if (members.length === 0) return []
    if (members.length === 1) {
      const only = members[0] as Waiting
      if (only.fresh) return members
      const reason = await this.simulateAlone(only, fees)
      if (reason == null) return members
      only.resolve({ reason })
      return []
    }
    // The payers' code as it is now: one that got code since its verification (EIP-7702) is settled alone.
    const [codes, simulation] = await Promise.all([
      this.codes(members.map((m) => m.payer)).catch((err: unknown) => {
        throw new SettlerUnavailableError(`could not read the payers' code: ${classifyRpcError(err).message}`, {
          cause: err
        })
      }),
      this.simulateBatch(members, fees)
    ])
    if (simulation == null) return [] // the settling wallet cannot pay for gas: every member was told
    const eoas = members.filter((m, i) => {
      if (codes[i] !== true) return true
      m.resolve({ alone: true })
      return false
    })
    // Without them the others' outcome may differ (a shared payer's balance, the gas left): simulated again.
    if (eoas.length < members.length) return this.simulate(eoas, fees)
    if ('results' in simulation) {
      const live: Waiting[] = []
      simulation.results.forEach((r, i) => {
        const m = members[i] as Waiting
        if (r.success) live.push(m)
        else m.resolve({ reason: revertToReason(revertMessage(r.returnData)) })
      })
      return live
    }
    // The batch fails as a whole (a member's code spent all the gas, …): each member is simulated alone; those that
    // fail alone are left out with their reason, the others are batched again — or, if all pass alone, sent alone.
    const alone = await Promise.all(members.map((m) => this.simulateAlone(m, fees)))
    const passing = members.filter((m, i) => {
      const reason = alone[i]
      if (reason == null) return true
      m.resolve({ reason })
      return false
    })
    if (passing.length === members.length) {
      for (const m of members) m.resolve({ alone: true })
      return []
    }
    return this.simulate(
      passing.map((m) => ({ ...m, fresh: false })),
      fees
    )
  }

  /** Why the member's own transfer, simulated alone with `fees`, would fail now; `undefined` when it would succeed. */
  private async simulateAlone(member: Waiting, fees: Fees): Promise<string | undefined> {
    const failure = await simulateSettlement(this.reader, { ...member.call, from: this.sender.address, fees })
    if (failure == null) return undefined
    if (failure.kind === 'revert') return revertToReason(failure.message)
    if (failure.kind === 'out-of-gas') return 'settlement_gas_over_cap'
    if (failure.kind === 'no-gas-funds') return 'seller_out_of_gas'
    throw new SettlerUnavailableError(`could not simulate the settlement: ${failure.message}`)
  }

  /**
   * Simulates the batch as it will be signed. `undefined` when the settling wallet cannot pay for gas (every member is
   * resolved so); throws when the chain could not be asked.
   */
  private async simulateBatch(members: readonly Waiting[], fees: Fees): Promise<BatchSimulation | undefined> {
    const call = this.batchCall(members, fees)
    let returned: Hex
    try {
      returned = (await this.reader.request({
        method: 'eth_call',
        params: [
          {
            from: call.from,
            to: call.to,
            data: call.data,
            gas: numberToHex(call.gas),
            maxFeePerGas: numberToHex(fees.maxFeePerGas),
            maxPriorityFeePerGas: numberToHex(fees.maxPriorityFeePerGas)
          },
          'latest'
        ]
      })) as Hex
    } catch (err) {
      const failure = classifyRpcError(err)
      if (failure.kind === 'no-gas-funds') {
        for (const m of members) m.resolve({ reason: 'seller_out_of_gas' })
        return undefined
      }
      if (failure.kind === 'revert' || failure.kind === 'out-of-gas') return { failed: failure.message }
      throw new SettlerUnavailableError(`could not simulate the batch: ${failure.message}`, { cause: err })
    }
    const results = decodeFunctionResult({
      abi: multicall3Abi,
      functionName: 'aggregate3',
      data: returned
    }) as readonly Aggregate3Result[]
    if (results.length !== members.length) throw new SettlerUnavailableError('Multicall3 answered another batch')
    return { results }
  }
}

/** The message of an `Error(string)` revert (the token's `require` texts), or the raw data. */
function revertMessage(data: Hex): string {
  try {
    const decoded = decodeErrorResult({ abi: [], data })
    return String(decoded.args?.[0] ?? decoded.errorName)
  } catch {
    return data
  }
}
