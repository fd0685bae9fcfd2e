import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { ApiFailure, api, onAuthFailure, type Status, signIn, signOut } from './api.ts'
import { AgentsPage, CallsPage, MarketPage, PeersPage, ReputationPage, WalletPage } from './pages.tsx'
import { WorkflowsPage } from './workflows-page.tsx'
import './style.css'

const PAGES = [
  { id: 'market', title: 'Marketplace' },
  { id: 'agents', title: 'My agents' },
  { id: 'calls', title: 'Calls' },
  { id: 'workflows', title: 'Workflows' },
  { id: 'reputation', title: 'Reputation' },
  { id: 'wallet', title: 'Wallet' },
  { id: 'peers', title: 'Peers & health' }
] as const
type PageId = (typeof PAGES)[number]['id']

function pageOf(hash: string): PageId {
  const id = hash.replace(/^#\/?/, '')
  return PAGES.find((p) => p.id === id)?.id ?? 'market'
}

/**
 * Takes the one-time login code out of the URL (`#login=…`) before anything else runs, and strips it from the address
 * bar and history at once, so it is never kept, bookmarked or shown.
 */
function takeLoginCode(): string | undefined {
  const match = /^#login=([A-Za-z0-9_-]{8,128})$/.exec(window.location.hash)
  if (window.location.hash.startsWith('#login=')) {
    history.replaceState(null, '', `${window.location.pathname}#/market`)
  }
  return match?.[1]
}

type Auth =
  | { state: 'checking' }
  | { state: 'in' }
  | { state: 'out'; reason?: ApiFailure | undefined }
  | { state: 'refused'; reason: ApiFailure }

function App({ initialCode }: { initialCode: string | undefined }) {
  const [auth, setAuth] = useState<Auth>({ state: 'checking' })
  // A login link opened in a tab that already shows the dashboard changes only the fragment: taken here too.
  const [login, setLogin] = useState<{ code: string | undefined }>({ code: initialCode })
  const [page, setPage] = useState<PageId>(pageOf(window.location.hash))
  const [status, setStatus] = useState<Status>()
  const [boughtTick, setBoughtTick] = useState(0)

  useEffect(() => {
    const onHash = () => {
      const code = takeLoginCode()
      if (code != null) {
        setAuth({ state: 'checking' })
        setLogin({ code })
      }
      setPage(pageOf(window.location.hash))
    }
    window.addEventListener('hashchange', onHash)
    const off = onAuthFailure((failure) => {
      if (failure.status === 401) setAuth({ state: 'out', reason: failure })
      else setAuth({ state: 'refused', reason: failure })
    })
    return () => {
      window.removeEventListener('hashchange', onHash)
      off()
    }
  }, [])

  // Sign in with the login code (if the URL had one), then check the session by reading the node's status.
  useEffect(() => {
    let cancelled = false
    void (async () => {
      let codeFailure: ApiFailure | undefined
      if (login.code != null) {
        try {
          await signIn({ code: login.code })
        } catch (err) {
          codeFailure = err instanceof ApiFailure ? err : new ApiFailure(0, 'Error', String(err))
        }
      }
      try {
        const s = await api<Status>('/status')
        if (cancelled) return
        setStatus(s)
        setAuth({ state: 'in' })
      } catch (err) {
        if (cancelled) return
        const failure = err instanceof ApiFailure ? err : new ApiFailure(0, 'Error', String(err))
        if (failure.status === 403) setAuth({ state: 'refused', reason: failure })
        else setAuth({ state: 'out', reason: codeFailure ?? failure })
      }
    })()
    return () => {
      cancelled = true
    }
  }, [login])

  if (auth.state === 'checking') return <div class="center muted">Connecting to the node…</div>
  if (auth.state === 'refused') return <Refused failure={auth.reason} />
  if (auth.state === 'out')
    return (
      <SignIn
        reason={auth.reason}
        onSignedIn={async () => {
          setStatus(await api<Status>('/status'))
          setAuth({ state: 'in' })
        }}
      />
    )

  return (
    <div class="layout">
      <header>
        <div class="brand">
          <strong>Betar</strong> node
          {status != null && (
            <span class="muted small">
              {' '}
              {status.network.name} · <code title={status.peerId}>{status.peerId.slice(-8)}</code>
            </span>
          )}
        </div>
        <nav>
          {PAGES.map((p) => (
            <a key={p.id} href={`#/${p.id}`} class={page === p.id ? 'active' : ''} data-testid={`nav-${p.id}`}>
              {p.title}
            </a>
          ))}
        </nav>
        <button
          type="button"
          class="secondary"
          data-testid="sign-out"
          onClick={async () => {
            await signOut()
            setAuth({ state: 'out' })
          }}
        >
          Sign out
        </button>
      </header>
      <main data-page={page}>
        {page === 'market' && <MarketPage onBought={() => setBoughtTick(boughtTick + 1)} />}
        {page === 'agents' && <AgentsPage />}
        {page === 'calls' && <CallsPage />}
        {page === 'workflows' && <WorkflowsPage />}
        {page === 'reputation' && <ReputationPage />}
        {page === 'wallet' && <WalletPage status={status} />}
        {page === 'peers' && <PeersPage status={status} />}
      </main>
    </div>
  )
}

function SignIn({ reason, onSignedIn }: { reason: ApiFailure | undefined; onSignedIn: () => Promise<void> }) {
  const [token, setToken] = useState('')
  const [error, setError] = useState<ApiFailure>()
  const explain =
    reason == null
      ? undefined
      : reason.name === 'LoginCodeUsed'
        ? 'This login link was already used. Each link signs in one browser, once.'
        : reason.name === 'LoginCodeInvalid'
          ? 'This login link has expired or is not valid.'
          : reason.name === 'NoSession'
            ? 'You are not signed in, or your session expired.'
            : reason.message
  return (
    <div class="center">
      <section class="card signin" data-testid="sign-in">
        <h1>Sign in to this Betar node</h1>
        {explain != null && (
          <div class="error" role="alert" data-testid="auth-error" data-reason={reason?.name}>
            {explain}
          </div>
        )}
        <p>
          Open the one-time login link that <code>betar start --dashboard</code> printed, or ask the node for a new one:
        </p>
        <pre class="small">{`curl -X POST -H "Authorization: Bearer $(cat <data-dir>/api-token)" http://${window.location.host}/dashboard/login-link`}</pre>
        <form
          onSubmit={async (e) => {
            e.preventDefault()
            setError(undefined)
            try {
              await signIn({ token: token.trim() })
              setToken('')
              await onSignedIn()
            } catch (err) {
              setError(err instanceof ApiFailure ? err : new ApiFailure(0, 'Error', String(err)))
            }
          }}
        >
          <label>
            Or paste the API token (<code>&lt;data-dir&gt;/api-token</code> or BETAR_API_TOKEN)
            <input
              type="password"
              name="token"
              autoComplete="off"
              value={token}
              onInput={(e) => setToken(e.currentTarget.value)}
            />
          </label>
          <button type="submit" data-testid="sign-in-token">
            Sign in
          </button>
        </form>
        {error != null && (
          <div class="error" role="alert" data-testid="sign-in-error">
            {error.message}
          </div>
        )}
      </section>
    </div>
  )
}

function Refused({ failure }: { failure: ApiFailure }) {
  return (
    <div class="center">
      <section class="card signin" data-testid="refused">
        <h1>Request refused by the node</h1>
        <div class="error" role="alert" data-testid="auth-error" data-reason={failure.name}>
          {failure.name}: {failure.message}
        </div>
        <p>
          The dashboard answers only pages of its own origin, on the node's loopback address. Open it from the URL{' '}
          <code>betar start --dashboard</code> printed.
        </p>
      </section>
    </div>
  )
}

const root = document.getElementById('app')
if (root != null) render(<App initialCode={takeLoginCode()} />, root)
