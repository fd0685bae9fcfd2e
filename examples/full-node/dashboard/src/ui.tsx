import type { ComponentChildren } from 'preact'
import type { ApiFailure } from './api.ts'

/** A long id shortened in the middle, the whole value in its tooltip. */
export function Short({ value, keep = 6 }: { value: string | null | undefined; keep?: number }) {
  if (value == null) return <span class="muted">—</span>
  const text = value.length > keep * 2 + 3 ? `${value.slice(0, keep + 2)}…${value.slice(-keep)}` : value
  return (
    <code title={value} class="id">
      {text}
    </code>
  )
}

/** A transaction hash (shortened, copyable in its tooltip), or a dash. */
export function Tx({ hash, testid }: { hash: string | null | undefined; testid?: string }) {
  if (hash == null) return <span class="muted">—</span>
  return (
    <code class="tx" title={hash} data-testid={testid}>
      {hash.slice(0, 10)}…{hash.slice(-6)}
    </code>
  )
}

const TONES: Record<string, string> = {
  done: 'good',
  completed: 'good',
  paid: 'good',
  sold: 'good',
  verified: 'good',
  given: 'good',
  listed: 'good',
  counted: 'good',
  sent: 'warn',
  prepared: 'warn',
  pending: 'warn',
  running: 'warn',
  calling: 'warn',
  interrupted: 'warn',
  unresolved: 'warn',
  unverified: 'warn',
  unregistered: 'warn',
  refunded: 'info',
  failed: 'bad',
  charged: 'bad',
  cancelled: 'bad',
  rejected: 'bad',
  delisted: 'bad'
}

export function Badge({ value, testid }: { value: string; testid?: string }) {
  return (
    <span class={`badge ${TONES[value] ?? 'info'}`} data-testid={testid}>
      {value}
    </span>
  )
}

export function ErrorBox({ error, title }: { error: ApiFailure | undefined; title?: string }) {
  if (error == null) return null
  return (
    <div class="error" role="alert" data-testid="error">
      <strong>{title ?? error.name}</strong>: {error.message}
    </div>
  )
}

export function Card({ title, children, testid }: { title: string; children: ComponentChildren; testid?: string }) {
  return (
    <section class="card" data-testid={testid}>
      <h2>{title}</h2>
      {children}
    </section>
  )
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="muted empty">{children}</p>
}

export function time(ms: number): string {
  return new Date(ms).toLocaleString()
}

export function duration(ms: number): string {
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${s % 60} s`
  return `${Math.floor(m / 60)} h ${m % 60} min`
}

/** A 0–100 score with its confidence (0–1) as a bar. */
export function Score({ score, confidence }: { score: number | null | undefined; confidence?: number | undefined }) {
  if (score == null) return <span class="muted">no score</span>
  return (
    <span class="score" title={`confidence ${((confidence ?? 0) * 100).toFixed(0)}%`}>
      <strong>{score.toFixed(1)}</strong>
      {confidence != null && (
        <span class="confidence">
          <meter min={0} max={1} value={confidence} /> {(confidence * 100).toFixed(0)}% conf.
        </span>
      )}
    </span>
  )
}
