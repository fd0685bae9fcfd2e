import type { AbortOptions } from '@libp2p/interface'
import { type Datastore, Key } from 'interface-datastore'
import { WORKFLOW_PREFIX } from './constants.ts'
import type { WorkflowRecord, WorkflowStatus } from './types.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Workflow records in the node's datastore, one key per workflow. Writes of one workflow are applied in order. */
export class WorkflowStore {
  private readonly datastore: Datastore
  private readonly queues = new Map<string, Promise<void>>()

  constructor(datastore: Datastore) {
    this.datastore = datastore
  }

  private key(id: string): Key {
    return new Key(`${WORKFLOW_PREFIX}/${id}`)
  }

  /** Writes a snapshot of the record (queued after the workflow's earlier writes). */
  put(record: WorkflowRecord, options: AbortOptions = {}): Promise<void> {
    const bytes = encoder.encode(JSON.stringify({ ...record, updatedAt: Date.now() }))
    const previous = this.queues.get(record.id) ?? Promise.resolve()
    const next = previous.catch(() => {}).then(() => this.datastore.put(this.key(record.id), bytes, options))
    const settled = next.then(
      () => {},
      () => {}
    )
    this.queues.set(record.id, settled)
    void settled.then(() => {
      if (this.queues.get(record.id) === settled) this.queues.delete(record.id)
    })
    return next.then(() => {})
  }

  async get(id: string, options: AbortOptions = {}): Promise<WorkflowRecord | undefined> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) return undefined
    try {
      return parse(await this.datastore.get(this.key(id), options))
    } catch (err) {
      if ((err as Error).name === 'NotFoundError') return undefined
      throw err
    }
  }

  /** Stored workflows, newest first, optionally only those in `statuses`. Unreadable records are skipped. */
  async list(options: AbortOptions & { statuses?: WorkflowStatus[]; limit?: number } = {}): Promise<WorkflowRecord[]> {
    const out: WorkflowRecord[] = []
    for await (const { value } of this.datastore.query({ prefix: WORKFLOW_PREFIX }, options)) {
      const record = parse(value)
      if (record == null) continue
      if (options.statuses != null && !options.statuses.includes(record.status)) continue
      out.push(record)
    }
    out.sort((a, b) => b.createdAt - a.createdAt)
    return options.limit != null ? out.slice(0, options.limit) : out
  }

  /**
   * Marks a stored workflow that no process is running `cancelled` (its unfinished steps too) and returns it; one that
   * already ended is returned as it is. `undefined` when there is none.
   */
  async cancel(id: string, options: AbortOptions = {}): Promise<WorkflowRecord | undefined> {
    const record = await this.get(id, options)
    if (record == null) return undefined
    if (record.status === 'pending' || record.status === 'running') {
      for (const s of Object.values(record.steps)) {
        if (s.status === 'pending' || s.status === 'running') s.status = 'cancelled'
      }
      record.status = 'cancelled'
      await this.put(record, options)
    }
    return record
  }

  /** Resolves once every queued write has landed. */
  async flush(): Promise<void> {
    await Promise.all([...this.queues.values()])
  }
}

function parse(bytes: Uint8Array): WorkflowRecord | undefined {
  try {
    const value = JSON.parse(decoder.decode(bytes)) as WorkflowRecord
    return value?.v === 1 && typeof value.id === 'string' ? value : undefined
  } catch {
    return undefined
  }
}
