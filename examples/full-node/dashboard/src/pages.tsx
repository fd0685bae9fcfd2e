import { useState } from 'preact/hooks'
import {
  ApiFailure,
  api,
  type Call,
  type Earnings,
  type Feedback,
  type Listing,
  type NodeHealth,
  type Sale,
  type SeriesPoint,
  type Status,
  type TagSummary,
  type Verification
} from './api.ts'
import { TimeChart } from './chart.tsx'
import { usePolled } from './hooks.ts'
import { Badge, Card, duration, Empty, ErrorBox, Score, Short, Tx, time } from './ui.tsx'

/** The tag a listing's score is read from (the buyer's star rating). */
const SCORE_TAG = 'starred'

function bestScore(summary: Record<string, TagSummary> | undefined): TagSummary | undefined {
  if (summary == null) return undefined
  return summary[SCORE_TAG] ?? Object.values(summary).sort((a, b) => b.count - a.count)[0]
}

/** A Go Betar node's listing (with `betar start --legacy`): not signed, never verified, not bought from here. */
interface LegacyListing {
  key: string
  name: string
  seller: string
  priceUsdc: string
  tokenId?: string
}

interface ListingRow {
  listing: Listing
  verification?: Verification
  verificationError?: string
  score?: TagSummary
}

// ---------------------------------------------------------------- marketplace

export function MarketPage({ onBought }: { onBought: () => void }) {
  const [capability, setCapability] = useState('')
  const [maxPrice, setMaxPrice] = useState('')
  const [minScore, setMinScore] = useState('')
  const [query, setQuery] = useState({ capability: '', maxPrice: '' })
  const [buying, setBuying] = useState<Listing>()
  const [legacy, setLegacy] = useState<LegacyListing[]>([])

  const rows = usePolled(
    async () => {
      const params = new URLSearchParams()
      if (query.capability !== '') params.set('capability', query.capability)
      if (query.maxPrice !== '') params.set('maxPrice', query.maxPrice)
      const { listings, legacy } = await api<{ listings: Listing[]; legacy?: LegacyListing[] }>(`/listings?${params}`)
      setLegacy(legacy ?? [])
      return Promise.all(
        listings.map(async (listing): Promise<ListingRow> => {
          const row: ListingRow = { listing }
          try {
            row.verification = await api<Verification>(`/listings/${encodeURIComponent(listing.id)}/verification`)
          } catch (err) {
            row.verificationError = err instanceof ApiFailure ? err.message : String(err)
          }
          const agentId = listing.erc8004?.agentId
          if (agentId != null) {
            try {
              const rep = await api<{ summary: Record<string, TagSummary> }>(`/reputation/${agentId}`)
              const score = bestScore(rep.summary)
              if (score != null) row.score = score
            } catch {
              // no score: shown as such
            }
          }
          return row
        })
      )
    },
    [query.capability, query.maxPrice],
    10_000
  )

  const min = minScore === '' ? undefined : Number(minScore)
  const shown = (rows.data ?? []).filter((r) => min == null || (r.score?.score ?? -1) >= min)

  return (
    <>
      <Card title="Search the marketplace" testid="market-search">
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault()
            setQuery({ capability: capability.trim(), maxPrice: maxPrice.trim() })
          }}
        >
          <label>
            Capability
            <input
              name="capability"
              value={capability}
              placeholder="e.g. text-analysis"
              onInput={(e) => setCapability(e.currentTarget.value)}
            />
          </label>
          <label>
            Max price (USDC)
            <input
              name="maxPrice"
              value={maxPrice}
              placeholder="e.g. 0.5"
              inputMode="decimal"
              onInput={(e) => setMaxPrice(e.currentTarget.value)}
            />
          </label>
          <label>
            Min score
            <input
              name="minScore"
              value={minScore}
              placeholder="0–100"
              inputMode="decimal"
              onInput={(e) => setMinScore(e.currentTarget.value)}
            />
          </label>
          <button type="submit">Search</button>
        </form>
      </Card>
      <Card title={`Listings (${shown.length})`} testid="listings">
        <ErrorBox error={rows.error} />
        {rows.loading && rows.data == null ? (
          <Empty>Loading…</Empty>
        ) : shown.length === 0 ? (
          <Empty>No listing matches. Peers' listings arrive as the node syncs with them.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Agent</th>
                <th>Capabilities</th>
                <th>Price</th>
                <th>Seller</th>
                <th>ERC-8004</th>
                <th>Score</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {shown.map((r) => (
                <tr key={r.listing.id} data-testid="listing-row" data-listing={r.listing.id}>
                  <td>
                    <strong>{r.listing.name}</strong>
                    {r.listing.description != null && <div class="muted small">{r.listing.description}</div>}
                  </td>
                  <td>{r.listing.capabilities.join(', ')}</td>
                  <td>{r.listing.priceUsdc} USDC</td>
                  <td>
                    <Short value={r.listing.seller} />
                  </td>
                  <td>
                    {r.verification != null ? (
                      <span title={r.verification.reasons.map((x) => `${x.code}: ${x.message}`).join('\n')}>
                        <Badge value={r.verification.status} testid="verification" />
                        {r.verification.agentId != null && <span class="muted small"> #{r.verification.agentId}</span>}
                      </span>
                    ) : (
                      <span class="muted" title={r.verificationError}>
                        unchecked
                      </span>
                    )}
                  </td>
                  <td>
                    <Score score={r.score?.score} confidence={r.score?.confidence} />
                  </td>
                  <td>
                    <button type="button" data-testid="buy" onClick={() => setBuying(r.listing)}>
                      Buy…
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      {legacy.length > 0 && (
        <Card title={`Go nodes' listings (${legacy.length})`} testid="legacy-listings">
          <p class="muted small">
            From Go Betar nodes (the node runs with --legacy): not signed and not checked against ERC-8004, so not
            bought from the dashboard.
          </p>
          <table>
            <thead>
              <tr>
                <th>Agent</th>
                <th>Price</th>
                <th>Seller</th>
                <th>Claimed agent id</th>
                <th>Verification</th>
              </tr>
            </thead>
            <tbody>
              {legacy.map((l) => (
                <tr key={l.key} data-testid="legacy-row">
                  <td>{l.name}</td>
                  <td>{l.priceUsdc} USDC</td>
                  <td>
                    <Short value={l.seller} />
                  </td>
                  <td>{l.tokenId ?? '—'}</td>
                  <td>
                    <Badge value="unverified" /> <span class="muted small">legacy</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      )}
      {buying != null && (
        <BuyDialog
          key={buying.id}
          listing={buying}
          onClose={() => setBuying(undefined)}
          onBought={() => {
            onBought()
          }}
        />
      )}
    </>
  )
}

function BuyDialog({ listing, onClose, onBought }: { listing: Listing; onClose: () => void; onBought: () => void }) {
  const [input, setInput] = useState('Betar dashboards show what agents sell. Calls pay in USDC.')
  const [capability, setCapability] = useState(listing.capabilities[0] ?? '')
  const [busy, setBusy] = useState(false)
  const [result, setResult] = useState<Call>()
  const [error, setError] = useState<ApiFailure>()

  const buy = async () => {
    setBusy(true)
    setError(undefined)
    setResult(undefined)
    try {
      const call = await api<Call>('/calls', {
        method: 'POST',
        body: { capability, input, maxPrice: listing.priceUsdc }
      })
      setResult(call)
      onBought()
    } catch (err) {
      setError(err instanceof ApiFailure ? err : new ApiFailure(0, 'Error', String(err)))
    } finally {
      setBusy(false)
    }
  }

  return (
    <Card title={`Buy "${capability}" for at most ${listing.priceUsdc} USDC`} testid="buy-dialog">
      <p class="muted small">
        The node discovers the sellers of this capability, verifies the cheapest one's ERC-8004 identity, pays over x402
        and waits for the result and the settlement.
      </p>
      <label>
        Capability
        <select value={capability} onChange={(e) => setCapability(e.currentTarget.value)}>
          {listing.capabilities.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </label>
      <label>
        Input
        <textarea name="input" rows={3} value={input} onInput={(e) => setInput(e.currentTarget.value)} />
      </label>
      <div class="actions">
        <button type="button" data-testid="confirm-buy" disabled={busy} onClick={buy}>
          {busy ? 'Paying and waiting…' : `Pay up to ${listing.priceUsdc} USDC`}
        </button>
        <button type="button" class="secondary" onClick={onClose}>
          Close
        </button>
      </div>
      <ErrorBox error={error} />
      {result != null && (
        <div class="result" data-testid="buy-result">
          <p>
            Call <Short value={result.correlationId} /> <Badge value={result.state} testid="buy-state" /> — paid{' '}
            {result.amountUsdc} USDC, settlement <Tx hash={result.settlement?.transaction} testid="buy-tx" />
          </p>
          {result.output !== undefined && (
            <pre class="output">{JSON.stringify(result.output, null, 2).slice(0, 2000)}</pre>
          )}
          {result.warnings != null && result.warnings.length > 0 && (
            <ul class="warnings">
              {result.warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          )}
        </div>
      )}
    </Card>
  )
}

// ---------------------------------------------------------------- my agents

interface LocalAgent {
  name: string
  info: { agentId?: string; listing?: Listing }
}

const BUCKETS = [
  { ms: 5_000, label: '5 s' },
  { ms: 60_000, label: '1 min' },
  { ms: 3_600_000, label: '1 h' },
  { ms: 86_400_000, label: '1 day' }
]
/** Buckets shown on the charts, up to now. */
const WINDOW = 60

/**
 * The last {@link WINDOW} buckets up to now (or from the first sale, when it is more recent), zero-filled, with the
 * running total carried over: the API sends only buckets that have sales.
 */
function filled(points: SeriesPoint[], bucket: number, now: number) {
  const end = Math.floor(now / bucket) * bucket
  const first = points[0]?.at ?? end
  const start = Math.max(Math.min(first, end) - bucket, end - (WINDOW - 1) * bucket)
  let cumulative = 0
  for (const p of points) if (p.at < start) cumulative = Number(p.cumulativeUsdc)
  const byAt = new Map(points.map((p) => [p.at, p]))
  const out = {
    times: [] as number[],
    cumulative: [] as number[],
    sold: [] as number[],
    refunded: [] as number[],
    failed: [] as number[]
  }
  for (let at = start; at <= end; at += bucket) {
    const p = byAt.get(at)
    if (p != null) cumulative = Number(p.cumulativeUsdc)
    out.times.push(at)
    out.cumulative.push(cumulative)
    out.sold.push(p?.sold ?? 0)
    out.refunded.push(p?.refunded ?? 0)
    out.failed.push(p?.failed ?? 0)
  }
  return out
}

export function AgentsPage() {
  const [bucket, setBucket] = useState(60_000)
  const agents = usePolled(() => api<{ agents: LocalAgent[] }>('/agents'), [], 10_000)
  const health = usePolled(() => api<NodeHealth>('/node/health'), [], 5_000)
  const sales = usePolled(() => api<{ earnings: Earnings[] }>('/sales'), [], 3_000)
  const series = usePolled(
    async () => ({
      now: Date.now(),
      ...(await api<{ bucket: number; series: Array<{ agent: string; points: SeriesPoint[] }> }>(
        `/sales/series?bucket=${bucket}&since=${Math.floor(Date.now() / bucket - WINDOW) * bucket}`
      ))
    }),
    [bucket],
    3_000
  )

  const list = agents.data?.agents ?? []
  return (
    <>
      <Card title="My agents" testid="my-agents">
        <ErrorBox error={agents.error} />
        {list.length === 0 ? (
          <Empty>This node sells no agent (start it with --agents config.yaml).</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Agent</th>
                <th>ERC-8004 id</th>
                <th>Status</th>
                <th>Price</th>
                <th>Sold</th>
                <th>Refunded</th>
                <th>Failed</th>
                <th>Earned</th>
              </tr>
            </thead>
            <tbody>
              {list.map((a) => {
                const h = health.data?.agents.find((x) => x.name === a.name)
                const e = sales.data?.earnings.find((x) => x.agent === a.name)
                return (
                  <tr key={a.name} data-testid="agent-row" data-agent={a.name}>
                    <td>
                      <strong>{a.name}</strong>
                    </td>
                    <td>{a.info.agentId ?? '—'}</td>
                    <td title={h?.problem}>
                      {h == null ? <span class="muted">—</span> : <Badge value={h.listed ? 'listed' : 'delisted'} />}
                      {h?.problem != null && <div class="muted small">{h.problem}</div>}
                    </td>
                    <td>{a.info.listing?.priceUsdc ?? priceOf(a.info.listing)} USDC</td>
                    <td data-testid="agent-sold">{e?.sold ?? 0}</td>
                    <td data-testid="agent-refunded">{e?.refunded ?? 0}</td>
                    <td data-testid="agent-failed">{e?.failed ?? 0}</td>
                    <td data-testid="agent-earned">{e?.earnedUsdc ?? '0'} USDC</td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        )}
      </Card>
      <Card title="Sales and earnings over time" testid="earnings">
        <div class="filters">
          <label>
            Bucket
            <select name="bucket" value={String(bucket)} onChange={(e) => setBucket(Number(e.currentTarget.value))}>
              {BUCKETS.map((b) => (
                <option key={b.ms} value={String(b.ms)}>
                  {b.label}
                </option>
              ))}
            </select>
          </label>
        </div>
        <ErrorBox error={series.error} />
        {(series.data?.series ?? []).length === 0 ? (
          <Empty>No sale in this period: the charts fill in as buyers pay.</Empty>
        ) : (
          (series.data?.series ?? []).map((s) => {
            const f = filled(s.points, series.data?.bucket ?? bucket, series.data?.now ?? Date.now())
            const label = BUCKETS.find((b) => b.ms === series.data?.bucket)?.label ?? 'bucket'
            return (
              <div key={s.agent} class="charts" data-testid="agent-charts" data-agent={s.agent}>
                <TimeChart
                  title={`${s.agent}: earned (cumulative USDC)`}
                  testid="earnings-chart"
                  points={s.points.length}
                  times={f.times}
                  lines={[{ label: 'USDC', color: '#2f855a', values: f.cumulative }]}
                />
                <TimeChart
                  title={`${s.agent}: calls per ${label}`}
                  testid="sales-chart"
                  points={s.points.length}
                  times={f.times}
                  lines={[
                    { label: 'sold', color: '#3182ce', values: f.sold, bars: true },
                    { label: 'refunded', color: '#d69e2e', values: f.refunded, bars: true },
                    { label: 'failed', color: '#e53e3e', values: f.failed, bars: true }
                  ]}
                />
              </div>
            )
          })
        )}
      </Card>
    </>
  )
}

function priceOf(listing: Listing | undefined): string {
  if (listing == null) return '—'
  return (Number(listing.price.amount) / 1e6).toString()
}

// ---------------------------------------------------------------- calls

export function CallsPage() {
  const bought = usePolled(() => api<{ calls: Call[] }>('/calls?limit=50'), [], 3_000)
  const sold = usePolled(() => api<{ sales: Sale[] }>('/sales?limit=50'), [], 3_000)
  const [resuming, setResuming] = useState<string>()
  const [resumeError, setResumeError] = useState<ApiFailure>()

  const resume = async (correlationId: string) => {
    setResuming(correlationId)
    setResumeError(undefined)
    try {
      await api<Call>('/calls', { method: 'POST', body: { correlationId } })
    } catch (err) {
      setResumeError(err instanceof ApiFailure ? err : new ApiFailure(0, 'Error', String(err)))
    } finally {
      setResuming(undefined)
      bought.reload()
    }
  }

  const calls = bought.data?.calls ?? []
  const sales = sold.data?.sales ?? []
  return (
    <>
      <Card title="Bought" testid="calls-bought">
        <ErrorBox error={bought.error} />
        <ErrorBox error={resumeError} title="Resume failed" />
        {calls.length === 0 ? (
          <Empty>No call yet: buy one from the marketplace.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th>When</th>
                <th>Capability</th>
                <th>Agent</th>
                <th>Seller</th>
                <th>Price</th>
                <th>Status</th>
                <th>Settlement</th>
                <th>Refund</th>
                <th>Feedback</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {calls.map((c) => (
                <tr key={c.correlationId} data-testid="call-row" data-state={c.state}>
                  <td title={c.correlationId}>{time(c.createdAt)}</td>
                  <td>{c.capability ?? '—'}</td>
                  <td>{c.listing?.name ?? '—'}</td>
                  <td>
                    <Short value={c.seller} />
                  </td>
                  <td>{c.amountUsdc != null ? `${c.amountUsdc} USDC` : '—'}</td>
                  <td title={c.error != null ? `${c.error.name}: ${c.error.message}` : undefined}>
                    <Badge value={c.state} testid="call-state" />
                    {c.error != null && <div class="muted small">{c.error.name}</div>}
                  </td>
                  <td>
                    <Tx hash={c.settlement?.transaction} testid="call-tx" />
                    {c.settlement?.check != null && <div class="muted small">{c.settlement.check}</div>}
                  </td>
                  <td>
                    {c.refund != null ? (
                      <>
                        <Tx hash={c.refund.transaction} testid="refund-tx" />{' '}
                        <span class="small">{c.refund.amountUsdc} USDC</span>
                      </>
                    ) : (
                      <span class="muted">—</span>
                    )}
                  </td>
                  <td>
                    <Badge value={c.feedback.state} />
                  </td>
                  <td>
                    {(c.state === 'sent' || c.state === 'prepared') && (
                      <button
                        type="button"
                        data-testid="resume"
                        disabled={resuming === c.correlationId}
                        onClick={() => resume(c.correlationId)}
                      >
                        {resuming === c.correlationId ? 'Resuming…' : 'Resume'}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <Card title="Sold" testid="calls-sold">
        <ErrorBox error={sold.error} />
        {sales.length === 0 ? (
          <Empty>This node has sold nothing yet.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th>When</th>
                <th>Agent</th>
                <th>Buyer</th>
                <th>Price</th>
                <th>Outcome</th>
                <th>Settlement</th>
                <th>Refund</th>
              </tr>
            </thead>
            <tbody>
              {sales.map((s) => (
                <tr key={`${s.correlationId}-${s.at}`} data-testid="sale-row">
                  <td>{time(s.at)}</td>
                  <td>{s.agent}</td>
                  <td>
                    <Short value={s.buyer} />
                  </td>
                  <td>{s.amountUsdc} USDC</td>
                  <td title={s.reason}>
                    <Badge value={s.outcome} />
                  </td>
                  <td>
                    <Tx hash={s.transaction} />
                  </td>
                  <td>
                    <Tx hash={s.refundTransaction} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </>
  )
}

// ---------------------------------------------------------------- reputation

export function ReputationPage() {
  const agents = usePolled(() => api<{ agents: LocalAgent[] }>('/agents'), [], 0)
  const [typed, setTyped] = useState('')
  const [chosen, setChosen] = useState<string>()
  const agentId = chosen ?? agents.data?.agents.find((a) => a.info.agentId != null)?.info.agentId
  const report = usePolled(
    async () =>
      agentId == null
        ? undefined
        : api<{ summary: Record<string, TagSummary>; feedback: Feedback[] }>(`/reputation/${agentId}/feedback`),
    [agentId],
    10_000
  )

  return (
    <>
      <Card title="Agent" testid="reputation-agent">
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault()
            if (/^\d+$/.test(typed.trim())) setChosen(typed.trim())
          }}
        >
          <label>
            ERC-8004 agent id
            <input
              name="agentId"
              value={typed}
              placeholder={agentId ?? 'e.g. 1'}
              inputMode="numeric"
              onInput={(e) => setTyped(e.currentTarget.value)}
            />
          </label>
          <button type="submit">Show</button>
          {(agents.data?.agents ?? [])
            .filter((a) => a.info.agentId != null)
            .map((a) => (
              <button key={a.name} type="button" class="secondary" onClick={() => setChosen(a.info.agentId)}>
                {a.name} (#{a.info.agentId})
              </button>
            ))}
        </form>
      </Card>
      {agentId == null ? (
        <Empty>Enter an agent id to see its reputation.</Empty>
      ) : (
        <>
          <Card title={`Score of agent #${agentId}`} testid="reputation-score">
            <ErrorBox error={report.error} />
            {report.data != null && Object.keys(report.data.summary).length === 0 ? (
              <Empty>No feedback yet.</Empty>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>Tag</th>
                    <th>Score</th>
                    <th>Counted</th>
                    <th>Unverified</th>
                  </tr>
                </thead>
                <tbody>
                  {Object.entries(report.data?.summary ?? {}).map(([tag, s]) => (
                    <tr key={tag}>
                      <td>{tag}</td>
                      <td>
                        <Score score={s.score} confidence={s.confidence} />
                      </td>
                      <td>{s.count}</td>
                      <td>{s.unverified}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
          <Card title="Feedback" testid="reputation-feedback">
            {(report.data?.feedback ?? []).length === 0 ? (
              <Empty>No feedback for this agent.</Empty>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>When</th>
                    <th>Client</th>
                    <th>Value</th>
                    <th>Tag</th>
                    <th>Status</th>
                    <th>Paid</th>
                    <th>Payment</th>
                    <th>Feedback tx</th>
                  </tr>
                </thead>
                <tbody>
                  {(report.data?.feedback ?? []).map((f) => (
                    <tr key={f.transactionHash + f.feedbackIndex} data-testid="feedback-row">
                      <td>{time(f.timestamp * 1000)}</td>
                      <td>
                        <Short value={f.clientAddress} />
                      </td>
                      <td>{(Number(f.value) / 10 ** f.valueDecimals).toString()}</td>
                      <td>
                        {f.tag1}
                        {f.tag2 !== '' ? ` / ${f.tag2}` : ''}
                      </td>
                      <td title={f.reason}>
                        <Badge value={f.status} />
                      </td>
                      <td>{(Number(f.paid) / 1e6).toString()} USDC</td>
                      <td>
                        <Tx hash={f.paymentTx} />
                      </td>
                      <td>
                        <Tx hash={f.transactionHash} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
        </>
      )}
    </>
  )
}

// ---------------------------------------------------------------- wallet

interface Wallet {
  address: string
  usdc: { asset: string; balanceUsdc: string; formatted: string }
}

export function WalletPage({ status }: { status: Status | undefined }) {
  const wallet = usePolled(() => api<Wallet>('/wallet'), [], 5_000)
  const [funding, setFunding] = useState(false)
  const [fundError, setFundError] = useState<ApiFailure>()
  const [funded, setFunded] = useState<string>()

  const fund = async () => {
    setFunding(true)
    setFundError(undefined)
    try {
      const r = await api<{ usdc: { added: string; balance: string }; eth: { added: string } }>('/faucet', {
        method: 'POST',
        body: {}
      })
      setFunded(`added ${r.usdc.added} USDC and ${r.eth.added} ETH: balance ${r.usdc.balance} USDC`)
      wallet.reload()
    } catch (err) {
      setFundError(err instanceof ApiFailure ? err : new ApiFailure(0, 'Error', String(err)))
    } finally {
      setFunding(false)
    }
  }

  return (
    <Card title="Wallet" testid="wallet">
      <ErrorBox error={wallet.error} />
      {wallet.data != null && (
        <dl class="facts">
          <dt>Address</dt>
          <dd>
            <code data-testid="wallet-address">{wallet.data.address}</code>
          </dd>
          <dt>USDC</dt>
          <dd data-testid="wallet-usdc">{wallet.data.usdc.balanceUsdc} USDC</dd>
          <dt>USDC contract</dt>
          <dd>
            <Short value={wallet.data.usdc.asset} />
          </dd>
          <dt>Network</dt>
          <dd>
            {status?.network.name ?? '…'} ({status?.network.caip2 ?? '…'})
          </dd>
        </dl>
      )}
      {status?.network.name === 'devnet' && (
        <div class="actions">
          <button type="button" data-testid="faucet" disabled={funding} onClick={fund}>
            {funding ? 'Funding…' : 'Devnet faucet: add 100 USDC and 1 ETH'}
          </button>
          {funded != null && <span data-testid="faucet-result">{funded}</span>}
        </div>
      )}
      <ErrorBox error={fundError} title="Faucet failed" />
    </Card>
  )
}

// ---------------------------------------------------------------- peers and health

interface Peers {
  peers: Array<{ peerId: string; connections: Array<{ remoteAddr: string; direction: string; status: string }> }>
}

export function PeersPage({ status }: { status: Status | undefined }) {
  const peers = usePolled(() => api<Peers>('/peers'), [], 5_000)
  const health = usePolled(() => api<NodeHealth>('/node/health'), [], 5_000)
  const h = health.data
  return (
    <>
      <Card title="Node health" testid="health">
        <ErrorBox error={health.error} />
        {h != null && (
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <Badge value={h.ok ? 'done' : 'failed'} /> {h.ok ? 'healthy' : 'chain RPC unreachable'}
            </dd>
            <dt>Peer id</dt>
            <dd>
              <code>{status?.peerId}</code>
            </dd>
            <dt>Uptime</dt>
            <dd>{duration(h.uptimeMs)}</dd>
            <dt>Chain</dt>
            <dd>
              {h.network} {h.chain.blockNumber != null ? `— block ${h.chain.blockNumber}` : (h.chain.error ?? '')}
            </dd>
            <dt>Peers / connections</dt>
            <dd data-testid="peer-count">
              {h.peers} / {h.connections}
            </dd>
            <dt>Listings known</dt>
            <dd>{h.listings}</dd>
            <dt>Memory (RSS)</dt>
            <dd>{(h.memory.rss / 1024 / 1024).toFixed(0)} MiB</dd>
            <dt>Listen addresses</dt>
            <dd>
              {(status?.multiaddrs ?? []).map((m) => (
                <div key={m}>
                  <code class="small">{m}</code>
                </div>
              ))}
            </dd>
          </dl>
        )}
      </Card>
      <Card title="Connected peers" testid="peers">
        <ErrorBox error={peers.error} />
        {(peers.data?.peers ?? []).length === 0 ? (
          <Empty>No peer connected: start with --bootstrap or --mdns.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Peer</th>
                <th>Address</th>
                <th>Direction</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {(peers.data?.peers ?? []).flatMap((p) =>
                p.connections.map((c) => (
                  <tr key={p.peerId + c.remoteAddr} data-testid="peer-row">
                    <td>
                      <Short value={p.peerId} />
                    </td>
                    <td>
                      <code class="small">{c.remoteAddr}</code>
                    </td>
                    <td>{c.direction}</td>
                    <td>{c.status}</td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
        )}
      </Card>
    </>
  )
}
