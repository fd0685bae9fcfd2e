import { reputationRegistryAbi } from '@betar/contracts'
import {
  buildFeedbackFile,
  encodeFeedbackFile,
  feedbackHash,
  type GiveFeedbackResult,
  giveFeedback,
  type StoreBytes,
  storeAsDataUri
} from '@betar/reputation'
import type { AbortOptions } from '@libp2p/interface'
import { type Datastore, Key } from 'interface-datastore'
import { formatEther } from 'viem'
import type { NodeClients } from './clients.ts'
import { type FeedbackJob, FEEDBACK_PREFIX as PREFIX, readFeedbackJob } from './feedback-job.ts'

/**
 * Gas a `giveFeedback` call may use, for the pre-check: measured 101–183 k with an `ipfs://` URI and 123–205 k with a
 * `data:` URI (`pnpm --filter @betar/reputation bench`; the higher figure is a client's first feedback for an agent).
 */
const FEEDBACK_GAS = 400_000n

/** Retries of a pending feedback back off from this (ms), doubling, up to {@link MAX_RETRY_DELAY_MS}. */
const FIRST_RETRY_DELAY_MS = 15_000
const MAX_RETRY_DELAY_MS = 30 * 60_000
/** A job waiting for an earlier attempt's transaction to be mined or dropped is looked at again after this (ms). */
const IN_FLIGHT_RETRY_DELAY_MS = 5_000

/**
 * An earlier attempt's transaction may still be in the mempool (the wallet has unmined transactions and no
 * `NewFeedback` with the job's hash is on-chain yet): sending again could rate twice, so the attempt waits.
 */
export class FeedbackInFlightError extends Error {
  static override name = 'FeedbackInFlightError'

  constructor(message: string) {
    super(message)
    this.name = 'FeedbackInFlightError'
  }
}

/** The wallet cannot pay the gas of a feedback transaction: nothing was sent. */
export class InsufficientGasError extends Error {
  static override name = 'InsufficientGasError'

  constructor(message: string) {
    super(message)
    this.name = 'InsufficientGasError'
  }
}

/** What {@link FeedbackQueue} needs from its node. */
export interface FeedbackQueueInit {
  datastore: Datastore
  clients: NodeClients
  /** Where `node` feedback files go (this node's Helia). */
  store: StoreBytes
  /** Background retries of pending feedback, every this many ms (0: none). @default 15000 */
  retryIntervalMs?: number
  log?: (message: string) => void
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * Feedback as a separate, persisted step of a purchase: the result is the buyer's first, its rating second. A job is
 * written before its first attempt; an attempt checks the wallet can pay the gas (else it fails with
 * {@link InsufficientGasError}, sending nothing), and a job whose earlier attempt may have sent a transaction is first
 * looked up on-chain (`NewFeedback` with its `feedbackHash`), so a rating is never given twice. Pending jobs are
 * retried in the background with a doubling back-off.
 */
export class FeedbackQueue {
  readonly #init: FeedbackQueueInit
  readonly #running = new Map<string, Promise<FeedbackJob>>()
  #timer: ReturnType<typeof setInterval> | undefined

  constructor(init: FeedbackQueueInit) {
    this.#init = init
  }

  /** Starts the background retries. */
  start(): void {
    const every = this.#init.retryIntervalMs ?? 15_000
    if (every <= 0 || this.#timer != null) return
    this.#timer = setInterval(() => {
      this.retryDue().catch((err: unknown) => this.#init.log?.(`feedback retry failed: ${String(err)}`))
    }, every)
    this.#timer.unref?.()
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  get(correlationId: string, options: AbortOptions = {}): Promise<FeedbackJob | undefined> {
    return readFeedbackJob(this.#init.datastore, correlationId, options)
  }

  /**
   * Records a job (once per correlation id; an existing job is kept) and makes one attempt now. Resolves with the job
   * as it stands: `given`, or `pending` with `lastError` — never rejects for a failed attempt. With `waitMs`, resolves
   * after at most that many ms with the job still `pending` while its attempt goes on in the background.
   */
  async give(
    job: Omit<FeedbackJob, 'state' | 'attempts' | 'nextAttemptAt' | 'updatedAt' | 'fromBlock' | 'createdAt'>,
    options: AbortOptions & { waitMs?: number } = {}
  ): Promise<FeedbackJob> {
    let stored = await this.get(job.correlationId, options)
    if (stored == null) {
      const now = Date.now()
      stored = {
        ...job,
        createdAt: now,
        state: 'pending',
        attempts: 0,
        nextAttemptAt: now,
        updatedAt: now
      }
      await this.#put(stored, options)
    }
    if (stored.state === 'given') return stored
    // A detached attempt is not tied to the caller's signal: it is persisted and ends on its own.
    const attempt = this.#attempt(stored, options.waitMs == null ? options : {})
    if (options.waitMs == null) return attempt
    // A slow chain must not hold the result back: past `waitMs` the attempt goes on in the background.
    let timer: ReturnType<typeof setTimeout> | undefined
    const waited = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), options.waitMs)
    })
    const done = await Promise.race([attempt, waited]).finally(() => clearTimeout(timer))
    return done ?? { ...((await this.get(stored.correlationId)) ?? stored), lastError: 'not mined yet' }
  }

  /**
   * Attempts one pending job now, whatever its back-off (e.g. once the wallet is funded). Resolves with the job as it
   * stands (a `given` job is returned as it is), or `undefined` when there is none.
   */
  async retryNow(correlationId: string, options: AbortOptions = {}): Promise<FeedbackJob | undefined> {
    const job = await this.get(correlationId, options)
    if (job == null || job.state === 'given') return job
    return this.#attempt(job, options)
  }

  /** Attempts every pending job whose back-off has passed. */
  async retryDue(options: AbortOptions = {}): Promise<number> {
    let attempted = 0
    for await (const { value } of this.#init.datastore.query({ prefix: PREFIX }, options)) {
      const job = JSON.parse(decoder.decode(value)) as FeedbackJob
      if (job.state !== 'pending' || job.nextAttemptAt > Date.now()) continue
      attempted++
      await this.#attempt(job, options)
    }
    return attempted
  }

  /** One attempt, at most one at a time per job. */
  #attempt(job: FeedbackJob, options: AbortOptions): Promise<FeedbackJob> {
    const running = this.#running.get(job.correlationId)
    if (running != null) return running
    const task = this.#run(job, options).finally(() => this.#running.delete(job.correlationId))
    this.#running.set(job.correlationId, task)
    return task
  }

  async #run(start: FeedbackJob, options: AbortOptions): Promise<FeedbackJob> {
    let job = start
    let delay: number | undefined
    try {
      if (job.sentAt != null) {
        // Whether the wallet has unmined transactions is read before the scan: if none are pending now, an earlier
        // attempt's transaction is either mined (and the scan sees it) or gone for good.
        const { publicClient, walletClient } = this.#init.clients
        const address = walletClient.account.address
        const [latest, pending] = await Promise.all([
          publicClient.getTransactionCount({ address, blockTag: 'latest' }),
          publicClient.getTransactionCount({ address, blockTag: 'pending' })
        ])
        const found = await this.#findOnChain(job)
        if (found != null) return await this.#given(job, found, options)
        if (pending > latest) {
          delay = IN_FLIGHT_RETRY_DELAY_MS
          throw new FeedbackInFlightError(
            `wallet ${address} has ${pending - latest} unmined transaction(s); an earlier attempt may be among them`
          )
        }
      }
      await this.#checkGas()
      if (job.fromBlock == null) {
        job = { ...job, fromBlock: (await this.#init.clients.publicClient.getBlockNumber()).toString() }
      }
      job = { ...job, sentAt: Date.now(), attempts: job.attempts + 1 }
      await this.#put(job, options)
      const { walletClient, publicClient } = this.#init.clients
      const result = await giveFeedback({
        walletClient,
        publicClient,
        ...this.#params(job),
        store: job.storage === 'data-uri' ? storeAsDataUri : this.#init.store,
        ...(options.signal != null ? { signal: options.signal } : {})
      })
      return await this.#given(job, result, options)
    } catch (err) {
      const attempts = Math.max(job.attempts, 1)
      delay ??= Math.min(FIRST_RETRY_DELAY_MS * 2 ** (attempts - 1), MAX_RETRY_DELAY_MS)
      const failed: FeedbackJob = {
        ...job,
        attempts,
        lastError: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        nextAttemptAt: Date.now() + delay
      }
      await this.#put(failed, options).catch(() => {})
      return failed
    }
  }

  #params(job: FeedbackJob) {
    return {
      reputationRegistry: job.reputationRegistry,
      agentId: BigInt(job.agentId),
      agentRegistry: job.agentRegistry,
      value: job.value,
      endpoint: job.endpoint,
      proof: job.proof,
      now: () => job.createdAt
    }
  }

  /** The pre-check: the wallet holds enough ETH for a feedback transaction at today's fees. */
  async #checkGas(): Promise<void> {
    const { publicClient, walletClient } = this.#init.clients
    const [balance, fees] = await Promise.all([
      publicClient.getBalance({ address: walletClient.account.address }),
      publicClient.estimateFeesPerGas()
    ])
    const need = FEEDBACK_GAS * fees.maxFeePerGas
    if (balance < need) {
      throw new InsufficientGasError(
        `wallet ${walletClient.account.address} holds ${formatEther(balance)} ETH; feedback needs about ${formatEther(need)} ETH of gas`
      )
    }
  }

  /** A `NewFeedback` from this wallet for the job's agent with the job's `feedbackHash`, since the job was created. */
  async #findOnChain(job: FeedbackJob): Promise<GiveFeedbackResult | undefined> {
    const { publicClient, walletClient } = this.#init.clients
    const chainId = publicClient.chain?.id ?? (await publicClient.getChainId())
    const file = buildFeedbackFile(this.#params(job), chainId, walletClient.account.address)
    const hash = feedbackHash(encodeFeedbackFile(file))
    const events = await publicClient.getContractEvents({
      address: job.reputationRegistry,
      abi: reputationRegistryAbi,
      eventName: 'NewFeedback',
      args: { agentId: BigInt(job.agentId), clientAddress: walletClient.account.address },
      fromBlock: BigInt(job.fromBlock ?? 0)
    })
    const event = events.find((e) => e.args.feedbackHash === hash)
    if (event == null) return undefined
    return {
      txHash: event.transactionHash,
      feedbackIndex: BigInt(event.args.feedbackIndex ?? 0),
      feedbackURI: event.args.feedbackURI ?? '',
      feedbackHash: hash,
      file
    }
  }

  async #given(job: FeedbackJob, result: GiveFeedbackResult, options: AbortOptions): Promise<FeedbackJob> {
    const { lastError: _, ...rest } = job
    const given: FeedbackJob = {
      ...rest,
      state: 'given',
      result: {
        txHash: result.txHash,
        feedbackURI: result.feedbackURI,
        feedbackIndex: result.feedbackIndex.toString()
      }
    }
    await this.#put(given, options)
    return given
  }

  async #put(job: FeedbackJob, options: AbortOptions): Promise<void> {
    const next = { ...job, updatedAt: Date.now() }
    await this.#init.datastore.put(
      new Key(`${PREFIX}/${job.correlationId}`),
      encoder.encode(JSON.stringify(next)),
      options
    )
  }
}
