import { useState } from 'preact/hooks'
import { ApiFailure, api } from './api.ts'
import { usePolled } from './hooks.ts'
import { Badge, Card, Empty, ErrorBox, Short, Tx, time } from './ui.tsx'

/** One line of `GET /workflows`. Amounts in atomic USDC units (6 decimals). */
interface WorkflowSummary {
  id: string
  name?: string
  status: string
  budget: string
  spent: string
  steps: number
  completed: number
  createdAt: number
  updatedAt: number
}

/** One try of a step on one seller (`@betar/workflow` AttemptRecord, as the API shows it). */
interface Attempt {
  correlationId: string
  listing: string
  seller: string
  state: string
  maxAmount: string
  amount?: string
  settlementTx?: string
  refund?: { transaction: string; amount: string; check: string }
  error?: string
}

interface Step {
  id: string
  status: string
  attempts: Attempt[]
  resultHash?: string
  error?: string
  skipped?: string[]
}

/** `GET /workflows/{id}`: the stored record with its amounts also in decimal USDC. */
interface Workflow {
  id: string
  name?: string
  status: string
  budgetUsdc: string
  spentUsdc: string
  steps: Record<string, Step>
  receipt: unknown[]
  error?: string
  createdAt: number
  updatedAt: number
}

/** Atomic USDC units (6 decimals) as a decimal string, without trailing zeros. */
function usdc(atomic: string | undefined): string {
  if (atomic == null) return '—'
  const v = BigInt(atomic)
  const whole = v / 1_000_000n
  const frac = (v % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '')
  return `${whole}${frac === '' ? '' : `.${frac}`} USDC`
}

/** A one-step example: the text-analysis agent of `pnpm demo`, at most 0.25 USDC of a 0.40 USDC budget. */
const EXAMPLE = JSON.stringify(
  {
    name: 'stats of a text',
    input: 'Paid agents on libp2p. They settle in USDC.',
    budget: '400000',
    steps: [{ id: 'stats', capability: 'text-analysis', maxPrice: '250000' }]
  },
  null,
  2
)

/** The definition's issues of a refused `POST /workflows` (`{ error: { name, message, issues } }`). */
function issuesOf(failure: ApiFailure | undefined): string[] {
  const issues = (failure?.body as { error?: { issues?: unknown } } | undefined)?.error?.issues
  return Array.isArray(issues) ? issues.filter((i): i is string => typeof i === 'string') : []
}

const failure = (err: unknown) => (err instanceof ApiFailure ? err : new ApiFailure(0, 'Error', String(err)))

/**
 * Paid workflows (`@betar/workflow` through the REST API): run one from a JSON definition, follow its steps (seller,
 * price, settlement transaction, refund, result hash), cancel or resume it, and export its receipt chain as JSON.
 */
export function WorkflowsPage() {
  const list = usePolled(() => api<{ workflows: WorkflowSummary[] }>('/workflows?limit=50'), [], 2_000)
  const [selected, setSelected] = useState<string>()
  const [definition, setDefinition] = useState(EXAMPLE)
  const [runError, setRunError] = useState<ApiFailure>()
  const [running, setRunning] = useState(false)

  const run = async () => {
    setRunError(undefined)
    let parsed: unknown
    try {
      parsed = JSON.parse(definition)
    } catch (err) {
      setRunError(new ApiFailure(0, 'InvalidJson', (err as Error).message))
      return
    }
    setRunning(true)
    try {
      const record = await api<Workflow>('/workflows', { method: 'POST', body: { definition: parsed } })
      setSelected(record.id)
      list.reload()
    } catch (err) {
      setRunError(failure(err))
    } finally {
      setRunning(false)
    }
  }

  const workflows = list.data?.workflows ?? []
  return (
    <>
      <Card title="Run a workflow" testid="workflow-run">
        <p class="muted small">
          A JSON definition (what <code>betar workflow run</code> reads as YAML): a budget and per-step caps in atomic
          USDC units (1 USDC = 1000000), each step a capability or a listing, its input a template (
          <code>{'{"$ref": "/steps/<id>/output"}'}</code>). The budget is reserved before anything is paid.
        </p>
        <textarea
          name="definition"
          class="code"
          rows={10}
          value={definition}
          onInput={(e) => setDefinition(e.currentTarget.value)}
          spellcheck={false}
        />
        <div>
          <button type="button" data-testid="workflow-submit" disabled={running} onClick={run}>
            {running ? 'Starting…' : 'Run'}
          </button>
        </div>
        <ErrorBox error={runError} />
        {issuesOf(runError).length > 0 && (
          <ul class="small" data-testid="workflow-issues">
            {issuesOf(runError).map((i) => (
              <li key={i}>{i}</li>
            ))}
          </ul>
        )}
      </Card>
      <Card title="Workflows" testid="workflows">
        <ErrorBox error={list.error} />
        {workflows.length === 0 ? (
          <Empty>No workflow yet.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Started</th>
                <th>Name</th>
                <th>Status</th>
                <th>Steps</th>
                <th>Spent</th>
                <th>Budget</th>
              </tr>
            </thead>
            <tbody>
              {workflows.map((w) => (
                <tr
                  key={w.id}
                  data-testid="workflow-row"
                  data-status={w.status}
                  class={selected === w.id ? 'selected clickable' : 'clickable'}
                  onClick={() => setSelected(w.id)}
                >
                  <td title={w.id}>{time(w.createdAt)}</td>
                  <td>{w.name ?? w.id}</td>
                  <td>
                    <Badge value={w.status} testid="workflow-status" />
                  </td>
                  <td>
                    {w.completed}/{w.steps}
                  </td>
                  <td data-testid="workflow-spent">{usdc(w.spent)}</td>
                  <td>{usdc(w.budget)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      {selected != null && <WorkflowDetail key={selected} id={selected} onChange={list.reload} />}
    </>
  )
}

function WorkflowDetail({ id, onChange }: { id: string; onChange: () => void }) {
  const wf = usePolled(() => api<Workflow>(`/workflows/${encodeURIComponent(id)}`), [id], 2_000)
  const [actionError, setActionError] = useState<ApiFailure>()
  const [receiptUrl, setReceiptUrl] = useState<string>()

  const act = async (action: 'cancel' | 'resume') => {
    setActionError(undefined)
    try {
      await api<Workflow>(`/workflows/${encodeURIComponent(id)}/${action}`, { method: 'POST' })
    } catch (err) {
      setActionError(failure(err))
    } finally {
      wf.reload()
      onChange()
    }
  }

  const exportReceipt = async () => {
    setActionError(undefined)
    try {
      const receipt = await api<unknown>(`/workflows/${encodeURIComponent(id)}/receipt`)
      if (receiptUrl != null) URL.revokeObjectURL(receiptUrl)
      setReceiptUrl(URL.createObjectURL(new Blob([JSON.stringify(receipt, null, 2)], { type: 'application/json' })))
    } catch (err) {
      setActionError(failure(err))
    }
  }

  const w = wf.data
  return (
    <Card title={`Workflow ${w?.name ?? id}`} testid="workflow-detail">
      <ErrorBox error={wf.error} />
      <ErrorBox error={actionError} />
      {w == null ? (
        <Empty>Loading…</Empty>
      ) : (
        <>
          <p>
            <Badge value={w.status} testid="workflow-detail-status" /> spent{' '}
            <strong data-testid="workflow-detail-spent">{w.spentUsdc} USDC</strong> of {w.budgetUsdc} USDC ·{' '}
            {w.receipt.length} receipt entr{w.receipt.length === 1 ? 'y' : 'ies'}
            {w.error != null && <span class="muted small"> · {w.error}</span>}
          </p>
          <div class="actions">
            {(w.status === 'running' || w.status === 'pending') && (
              <button type="button" class="secondary" data-testid="workflow-cancel" onClick={() => act('cancel')}>
                Cancel
              </button>
            )}
            {/* A failed workflow with a step whose paid call has no outcome yet: re-asked, never paid again. */}
            {w.status === 'failed' && Object.values(w.steps).some((s) => s.status === 'unresolved') && (
              <button type="button" class="secondary" data-testid="workflow-resume" onClick={() => act('resume')}>
                Resume
              </button>
            )}
            <button type="button" class="secondary" data-testid="workflow-export" onClick={exportReceipt}>
              Export receipt
            </button>
            {receiptUrl != null && (
              <a href={receiptUrl} download={`workflow-${id}-receipt.json`} data-testid="workflow-receipt-link">
                workflow-{id}-receipt.json
              </a>
            )}
          </div>
          <table>
            <thead>
              <tr>
                <th>Step</th>
                <th>Status</th>
                <th>Seller</th>
                <th>Paid</th>
                <th>Settlement</th>
                <th>Refund</th>
                <th>Result (SHA-256)</th>
              </tr>
            </thead>
            <tbody>
              {Object.values(w.steps).map((s) => {
                const last = s.attempts.at(-1)
                return (
                  <tr key={s.id} data-testid="workflow-step" data-step={s.id} data-status={s.status}>
                    <td>{s.id}</td>
                    <td title={s.error ?? last?.error}>
                      <Badge value={s.status} />
                      {s.attempts.length > 1 && <div class="muted small">{s.attempts.length} sellers tried</div>}
                      {(s.skipped?.length ?? 0) > 0 && (
                        <div class="muted small" title={s.skipped?.join('\n')}>
                          {s.skipped?.length} listing(s) skipped
                        </div>
                      )}
                    </td>
                    <td>
                      <Short value={last?.seller} />
                    </td>
                    <td>{last?.amount != null ? usdc(last.amount) : '—'}</td>
                    <td>
                      <Tx hash={last?.settlementTx} testid="workflow-step-tx" />
                    </td>
                    <td>
                      {last?.refund != null ? (
                        <>
                          <Tx hash={last.refund.transaction} /> <span class="small">{usdc(last.refund.amount)}</span>
                        </>
                      ) : (
                        <span class="muted">—</span>
                      )}
                    </td>
                    <td>
                      <Short value={s.resultHash} />
                    </td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </>
      )}
    </Card>
  )
}
