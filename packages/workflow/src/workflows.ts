import type { Listing } from '@betar/marketplace-crdt'
import type { CallJournal, X402Client } from '@betar/x402-libp2p'
import {
  type AbortOptions,
  type ComponentLogger,
  type Logger,
  type PeerId,
  type Startable,
  serviceCapabilities,
  serviceDependencies,
  TypedEventEmitter
} from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { multiaddr } from '@multiformats/multiaddr'
import type { Datastore } from 'interface-datastore'
import type { PublicClient } from 'viem'
import { hashJson } from './canonical.ts'
import { DEFAULT_REASKS } from './constants.ts'
import { planToDefinition, planWorkflow, type WorkflowDefinition, type WorkflowPlan } from './definition.ts'
import {
  WorkflowBudgetError,
  WorkflowNotFoundError,
  WorkflowServiceStoppedError,
  WorkflowStateError
} from './errors.ts'
import { type WorkflowReceipt, workflowReceipt } from './receipt.ts'
import { WorkflowRun } from './run.ts'
import { WorkflowStore } from './store.ts'
import type { ListingSource, StepRecord, WorkflowRecord, WorkflowStatus } from './types.ts'

export interface WorkflowsInit {
  /**
   * The x402 client's call journal (e.g. `datastoreCallJournal(datastore)`, the one given to `x402Client`): how a step
   * knows whether a payment was signed for a call, so an interrupted call is re-asked, never paid again.
   */
  journal: CallJournal
  /** The token workflows pay in (CAIP-2 network and address): listings priced in anything else are skipped. */
  asset: { network: string; address: string }
  /**
   * Reads the paying chain: finds the settlement transaction of a refunded call, so its receipt entry names both
   * transfers (without it a refunded call is kept in the step's record only).
   */
  publicClient?: Pick<PublicClient, 'getLogs' | 'getTransactionReceipt'>
  /**
   * Checks a listing before its seller is paid (e.g. its ERC-8004 identity and that its payee is the agent's wallet):
   * throw to refuse it — the step then tries the next seller, nothing paid. Runs once per listing and step.
   */
  verifyListing?: (listing: Listing, options: AbortOptions) => Promise<void>
  /**
   * How long a workflow may search the network for sellers (the marketplace's `findSellers`, a DHT search) before its
   * steps are planned; 0 turns it off and uses the listings the marketplace holds. @default 3000
   */
  discoveryTimeoutMs?: number
  /** Resume workflows left `running` when the service starts. @default true */
  resume?: boolean
  /** Re-asks of a paid call whose outcome could not be read before its step is left `unresolved`. @default 3 */
  reasks?: number
  /** First pause between re-asks (ms, doubling). @default 1000 */
  reaskDelayMs?: number
  /** Share of a paid call a sub-contracting agent keeps, in basis points (see `subcontract`). @default 0 */
  marginBps?: number
}

export interface WorkflowsComponents {
  peerId: PeerId
  /** Reconnects to a seller that moved before a paid call is re-asked. */
  connectionManager?: ConnectionManager
  datastore: Datastore
  logger: ComponentLogger
  x402Client: X402Client
  /** The marketplace service (`@betar/marketplace-crdt`), or any source of listings. */
  market: ListingSource
}

export interface WorkflowEvents {
  /** A workflow ended (completed, failed or cancelled). */
  'workflow:ended': CustomEvent<WorkflowRecord>
}

/** Options of `submit` and `run`. */
export interface SubmitOptions extends AbortOptions {
  /** The workflow's id (1–64 of `[A-Za-z0-9_-]`). @default a random UUID */
  id?: string
  /** Stored with the workflow when it is a sub-contract. */
  parent?: WorkflowRecord['parent']
}

/** Options of `subcontract`. */
export interface SubcontractOptions extends SubmitOptions {
  /** What the agent's own buyer paid for the call being served (atomic units). */
  paid: bigint
  /** Share of `paid` the agent keeps (basis points, 0–10000). @default the service's `marginBps` */
  marginBps?: number
  /** The paid call being served. */
  correlationId?: string
}

/** Paid multi-agent workflows on a Betar node. */
export interface Workflows {
  /**
   * Validates a definition, reserves its budget against the node's x402 spending budget, stores it and starts running
   * it in the background. Resolves with the record as stored. Throws `WorkflowDefinitionError` (`WorkflowCycleError`)
   * or `WorkflowBudgetError` — nothing is stored or paid then.
   */
  submit(definition: WorkflowDefinition, options?: SubmitOptions): Promise<WorkflowRecord>
  /** `submit`, then waits for the workflow to end; aborting `signal` cancels it. */
  run(definition: WorkflowDefinition, options?: SubmitOptions): Promise<WorkflowRecord>
  /** Waits for a workflow to end (aborting `signal` only stops the wait). */
  wait(id: string, options?: AbortOptions): Promise<WorkflowRecord>
  get(id: string, options?: AbortOptions): Promise<WorkflowRecord | undefined>
  list(options?: AbortOptions & { statuses?: WorkflowStatus[]; limit?: number }): Promise<WorkflowRecord[]>
  /**
   * Cancels a workflow: steps not started never run, calls in flight are aborted (one whose payment was already signed
   * is re-asked once so its cost is known). Resolves with the final record.
   */
  cancel(id: string, options?: AbortOptions): Promise<WorkflowRecord>
  /**
   * Runs a stored workflow again from where it stopped: `running` ones left by a crash, or `failed` ones with a step
   * `unresolved`. Steps already paid are re-asked with their correlation id, never paid twice.
   */
  resume(id: string, options?: AbortOptions): Promise<WorkflowRecord>
  /** The workflow's receipt chain, for export (`JSON.stringify`) and `verifyWorkflowReceipt`. */
  receipt(id: string, options?: AbortOptions): Promise<WorkflowReceipt>
  /**
   * For an agent serving a paid call that buys from others: runs `definition` with its budget bounded by what the
   * buyer paid less the margin (a larger budget is lowered to it), so a chain of agents never spends more than entered
   * it. Waits for the end.
   */
  subcontract(definition: WorkflowDefinition, options: SubcontractOptions): Promise<WorkflowRecord>
  /** Sum of the budgets running workflows still hold (reserved against the x402 client's budget). */
  reserved(): bigint
}

export class WorkflowsService extends TypedEventEmitter<WorkflowEvents> implements Workflows, Startable {
  readonly [Symbol.toStringTag] = '@betar/workflow'
  readonly [serviceCapabilities] = ['@betar/workflow']
  readonly [serviceDependencies] = ['@betar/x402-client']
  private readonly components: WorkflowsComponents
  private readonly init: WorkflowsInit
  private readonly store: WorkflowStore
  private readonly log: Logger
  private readonly runs = new Map<string, { run: WorkflowRun; done: Promise<WorkflowRecord> }>()
  /** Ids being submitted or resumed (claimed before the first await, so two calls cannot both start one). */
  private readonly claims = new Set<string>()
  private started = false

  constructor(components: WorkflowsComponents, init: WorkflowsInit) {
    super()
    this.components = components
    this.init = init
    this.store = new WorkflowStore(components.datastore)
    this.log = components.logger.forComponent('betar:workflow')
  }

  start(): void {
    this.started = true
  }

  /** Resumes the workflows a crash or stop left `running` (after libp2p and the x402 client started). */
  afterStart(): void {
    if (this.init.resume === false) return
    void this.store
      .list({ statuses: ['running', 'pending'] })
      .then(async (records) => {
        for (const record of records) {
          if (!this.started) return
          if (this.runs.has(record.id) || this.claims.has(record.id)) continue
          this.log('resuming workflow %s', record.id)
          this.launch(record)
        }
      })
      .catch((err) => this.log.error('could not list workflows to resume - %e', err))
  }

  async stop(): Promise<void> {
    this.started = false
    const pending = [...this.runs.values()]
    for (const { run } of pending) run.halt()
    await Promise.allSettled(pending.map((p) => p.done))
    await this.store.flush()
  }

  reserved(): bigint {
    let sum = 0n
    for (const { run } of this.runs.values()) sum += run.outstanding()
    return sum
  }

  async submit(definition: WorkflowDefinition, options: SubmitOptions = {}): Promise<WorkflowRecord> {
    if (!this.started) throw new WorkflowServiceStoppedError()
    const plan = planWorkflow(definition)
    const id = options.id ?? crypto.randomUUID()
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new WorkflowStateError(id, 'ids are 1–64 of [A-Za-z0-9_-]')
    this.claim(id, 'a workflow with this id exists')
    try {
      if ((await this.store.get(id, options)) != null)
        throw new WorkflowStateError(id, 'a workflow with this id exists')
      return await this.create(id, plan, options)
    } finally {
      this.claims.delete(id)
    }
  }

  private async create(id: string, plan: WorkflowPlan, options: SubmitOptions): Promise<WorkflowRecord> {
    this.reserve(plan.budget)
    const stored = planToDefinition(plan)
    const steps: Record<string, StepRecord> = {}
    for (const s of plan.steps) steps[s.id] = { id: s.id, status: 'pending', attempts: [] }
    const now = Date.now()
    const record: WorkflowRecord = {
      v: 1,
      id,
      ...(plan.name != null ? { name: plan.name } : {}),
      definition: stored,
      definitionHash: hashJson(stored),
      status: 'pending',
      network: this.init.asset.network,
      asset: this.init.asset.address,
      budget: plan.budget.toString(),
      spent: '0',
      steps,
      receipt: [],
      ...(options.parent != null ? { parent: options.parent } : {}),
      createdAt: now,
      updatedAt: now
    }
    await this.store.put(record, options)
    this.launch(record, plan)
    return structuredClone(record)
  }

  async run(definition: WorkflowDefinition, options: SubmitOptions = {}): Promise<WorkflowRecord> {
    const record = await this.submit(definition, options)
    const onAbort = () => void this.cancel(record.id).catch(() => {})
    options.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      return await this.wait(record.id)
    } finally {
      options.signal?.removeEventListener('abort', onAbort)
    }
  }

  async wait(id: string, options: AbortOptions = {}): Promise<WorkflowRecord> {
    const active = this.runs.get(id)
    if (active == null) return this.mustGet(id, options)
    if (options.signal == null) return structuredClone(await active.done)
    options.signal.throwIfAborted()
    const signal = options.signal
    return structuredClone(
      await Promise.race([
        active.done,
        new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }))
      ])
    )
  }

  async get(id: string, options: AbortOptions = {}): Promise<WorkflowRecord | undefined> {
    const active = this.runs.get(id)
    if (active != null) return structuredClone(active.run.record)
    return this.store.get(id, options)
  }

  list(options: AbortOptions & { statuses?: WorkflowStatus[]; limit?: number } = {}): Promise<WorkflowRecord[]> {
    return this.store.list(options)
  }

  async cancel(id: string, options: AbortOptions = {}): Promise<WorkflowRecord> {
    const active = this.runs.get(id)
    if (active != null) {
      active.run.controller.abort(new Error('cancelled'))
      return structuredClone(await active.done)
    }
    const record = await this.store.cancel(id, options)
    if (record == null) throw new WorkflowNotFoundError(id)
    return record
  }

  async resume(id: string, options: AbortOptions = {}): Promise<WorkflowRecord> {
    if (!this.started) throw new WorkflowServiceStoppedError()
    this.claim(id, 'is already running on this node')
    let record: WorkflowRecord
    try {
      record = await this.mustGet(id, options)
    } finally {
      this.claims.delete(id)
    }
    if (this.runs.has(id)) throw new WorkflowStateError(id, 'is already running on this node')
    const unresolved = Object.values(record.steps).some((s) => s.status === 'unresolved')
    if (!(record.status === 'running' || record.status === 'pending' || (record.status === 'failed' && unresolved))) {
      throw new WorkflowStateError(id, `is ${record.status}: nothing to resume`)
    }
    if (record.status === 'failed') {
      for (const s of Object.values(record.steps)) if (s.status === 'skipped') s.status = 'pending'
    }
    return structuredClone(await this.launch(record))
  }

  async receipt(id: string, options: AbortOptions = {}): Promise<WorkflowReceipt> {
    return workflowReceipt(await this.mustGet(id, options))
  }

  async subcontract(definition: WorkflowDefinition, options: SubcontractOptions): Promise<WorkflowRecord> {
    const marginBps = options.marginBps ?? this.init.marginBps ?? 0
    if (!Number.isInteger(marginBps) || marginBps < 0 || marginBps > 10_000) {
      throw new RangeError('marginBps must be an integer from 0 to 10000')
    }
    if (options.paid < 0n) throw new RangeError('paid must be ≥ 0')
    const cap = (options.paid * BigInt(10_000 - marginBps)) / 10_000n
    const plan = planWorkflow(definition)
    const bounded = planToDefinition({ ...plan, budget: plan.budget < cap ? plan.budget : cap })
    // Step caps above the lowered budget are lowered with it (never paid more than the whole budget).
    for (const s of bounded.steps) if (BigInt(s.maxPrice as string) > cap) s.maxPrice = cap.toString()
    return this.run(bounded, {
      ...options,
      parent: {
        paid: options.paid.toString(),
        marginBps,
        ...(options.correlationId != null ? { correlationId: options.correlationId } : {})
      }
    })
  }

  private claim(id: string, message: string): void {
    if (this.runs.has(id) || this.claims.has(id)) throw new WorkflowStateError(id, message)
    this.claims.add(id)
  }

  /** Checks the budget fits what the node's x402 budget has left beside the running workflows' reservations. */
  private reserve(budget: bigint): void {
    const remaining = this.components.x402Client.budgetRemaining()
    if (remaining == null) return
    const others = this.reserved()
    if (budget > remaining - others) {
      throw new WorkflowBudgetError(
        `budget ${budget} exceeds the node's x402 budget left (${remaining}) less ${others} reserved by running workflows`
      )
    }
  }

  private async mustGet(id: string, options: AbortOptions): Promise<WorkflowRecord> {
    const record = await this.get(id, options)
    if (record == null) throw new WorkflowNotFoundError(id)
    return record
  }

  private launch(
    record: WorkflowRecord,
    plan: WorkflowPlan = planWorkflow(record.definition)
  ): Promise<WorkflowRecord> {
    const run = new WorkflowRun(record, plan, {
      client: this.components.x402Client,
      journal: this.init.journal,
      reasks: this.init.reasks ?? DEFAULT_REASKS,
      reaskDelayMs: this.init.reaskDelayMs ?? 1000,
      market: this.components.market,
      store: this.store,
      log: this.log,
      self: this.components.peerId.toString(),
      asset: this.init.asset,
      publicClient: this.init.publicClient,
      discoveryTimeoutMs: this.init.discoveryTimeoutMs ?? 3000,
      verifyListing: this.init.verifyListing,
      dial: async (addresses, options) => {
        await this.components.connectionManager?.openConnection(
          addresses.map((a) => multiaddr(a)),
          options
        )
      }
    })
    const done = run.run().then(
      (final) => {
        this.runs.delete(record.id)
        if (final.status !== 'running') this.safeDispatch(final)
        return final
      },
      (err: unknown) => {
        this.runs.delete(record.id)
        this.log.error('workflow %s stopped - %e', record.id, err)
        return record
      }
    )
    this.runs.set(record.id, { run, done })
    return done
  }

  private safeDispatch(record: WorkflowRecord): void {
    try {
      this.dispatchEvent(new CustomEvent('workflow:ended', { detail: structuredClone(record) }))
    } catch (err) {
      this.log.error('workflow:ended listener failed - %e', err)
    }
  }
}
