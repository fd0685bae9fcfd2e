import { join } from 'node:path'
import { AgentUnhealthyError, delistUnsold, formatUsdc, type SoldAgent, sellAgent } from '@betar/node'
import { createApi, startApi, withDashboard } from '../../api/index.ts'
import { apiToken } from '../api-token.ts'
import { GLOBAL_HELP, parseCommand } from '../args.ts'
import type { Command } from '../command.ts'
import { CliError } from '../errors.ts'
import { out, outJson, progress } from '../output.ts'
import { withNode } from '../session.ts'
import { loadAgents } from './agents.ts'
import { saleLine } from './sales.ts'

const USAGE = 'betar start [--agents <config.yaml>] [--listen <ma>]... [--bootstrap <ma>]... [options]'
const HELP = `Usage: ${USAGE}

Starts the node (libp2p identity kept in <data-dir>/datastore), registers and sells the configured agents,
prints its multiaddrs and runs until SIGINT/SIGTERM, then stops cleanly. While it runs it prints one line per paid
call's outcome (sold, refunded, failed: agent, price, buyer peer, transaction, duration) and per refused payment
(with --json: one JSON object per line); \`betar sales\` / GET /sales list them later with earnings per agent.
A restart on the same data dir keeps the peer id, the listen ports and the ERC-8004 agents (nothing is re-registered).

  --agents <file>      agents to sell (YAML or JSON)
  --listen <ma>        listen address, repeatable (default /ip4/127.0.0.1/tcp/0)
  --bootstrap <ma>     peer to dial at start, repeatable
  --mdns               discover peers on the LAN
  --legacy             bridge to Go Betar nodes: offer our agents in Go's listing format and show theirs
                       as unverified legacy listings (GET /listings → "legacy")
  --api-port <port>    serve the local REST API on 127.0.0.1:<port> (0 = any free port)
  --no-api             do not serve the REST API
  --dashboard          serve the web dashboard at <api>/dashboard/ and print a one-time login link

The REST API needs a bearer token: BETAR_API_TOKEN, or one generated into <data-dir>/api-token (mode 0600).

${GLOBAL_HELP}`

/** `betar start`. */
export const startCommand: Command = {
  name: 'start',
  summary: 'run the node and sell the configured agents until Ctrl-C',
  async run(argv) {
    const { values, globals, help } = parseCommand(
      argv,
      {
        agents: { type: 'string' },
        listen: { type: 'string', multiple: true },
        bootstrap: { type: 'string', multiple: true },
        mdns: { type: 'boolean', default: false },
        legacy: { type: 'boolean', default: false },
        'api-port': { type: 'string' },
        'no-api': { type: 'boolean', default: false },
        dashboard: { type: 'boolean', default: false }
      },
      { min: 0, max: 0, usage: USAGE }
    )
    if (help) return out(HELP)
    const agents = values.agents != null ? await loadAgents(values.agents) : []
    const apiPort = values['api-port'] != null ? parsePort(values['api-port']) : 0
    const stopped = new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'))
      process.once('SIGTERM', () => resolve('SIGTERM'))
    })
    await withNode(
      globals,
      {
        persistent: true,
        mdns: values.mdns === true,
        legacy: values.legacy === true,
        ...(values.listen != null ? { listen: values.listen } : {}),
        ...(values.bootstrap != null ? { bootstrap: values.bootstrap } : {})
      },
      async (node) => {
        const sold: SoldAgent[] = []
        for (const agent of agents) {
          progress(`checking, registering and listing "${agent.name}"…`)
          try {
            sold.push(await sellAgent(node, agent))
          } catch (err) {
            // A broken agent is not put on sale; the others are.
            if (!(err instanceof AgentUnhealthyError)) throw err
            progress(`not selling "${agent.name}": ${err.problem}`)
          }
        }
        // Listings restored from the datastore for agents this run does not sell are withdrawn at once.
        const retired = await delistUnsold(
          node,
          sold.map((s) => s.listing.id)
        )
        for (const id of retired) progress(`delisted "${id}": not sold by this run`)
        const multiaddrs = node.multiaddrs().map(String)
        if (values.dashboard === true && values['no-api'] === true)
          throw new CliError('--dashboard needs the REST API: drop --no-api')
        const token = values['no-api'] === true ? '' : await apiToken(globals.dataDir)
        const restApi =
          values['no-api'] === true
            ? undefined
            : createApi(node, {
                token,
                agents: new Map(
                  sold.map((s) => [s.resource, { agentId: String(s.registration.agentId), listing: s.listing }])
                )
              })
        const dashboard = restApi != null && values.dashboard === true ? withDashboard(restApi, { token }) : undefined
        const api = restApi == null ? undefined : await startApi(dashboard?.app ?? restApi, { port: apiPort })
        const dashboardLogin = api != null ? dashboard?.loginUrl(api.url) : undefined
        if (dashboard != null && !dashboard.built)
          progress(
            'the dashboard is not built: run `pnpm --filter @betar/full-node build:dashboard` (it answers 503 until then)'
          )
        if (globals.json) {
          outJson({
            peerId: node.peerId,
            wallet: node.wallet.address,
            multiaddrs,
            ...(api != null ? { api: api.url } : {}),
            ...(dashboardLogin != null ? { dashboard: dashboardLogin } : {}),
            agents: sold.map((s) => ({
              name: s.resource,
              agentId: s.registration.agentId,
              agentRegistry: s.registration.agentRegistry,
              uri: s.registration.uri,
              price: s.listing.price.amount,
              capabilities: s.listing.capabilities
            }))
          })
        } else {
          out(`Betar node ${node.peerId} (wallet ${node.wallet.address}) on ${node.network.name}`)
          out('Listening on')
          for (const ma of multiaddrs) out(`  ${ma}`)
          for (const s of sold) {
            out(
              `Selling "${s.resource}" (ERC-8004 agentId ${s.registration.agentId}) at ` +
                `${formatUsdc(BigInt(s.listing.price.amount))} for [${s.listing.capabilities.join(', ')}]`
            )
          }
          if (api != null)
            out(`REST API on ${api.url} (bearer token in BETAR_API_TOKEN or ${join(globals.dataDir, 'api-token')})`)
          if (dashboardLogin != null) out(`Dashboard: open ${dashboardLogin} (one-time login link, valid 10 minutes)`)
          out('Ready. Press Ctrl-C to stop.')
        }
        // The operator's log: one line per paid call's outcome (sale, refund, failure) and per refused payment.
        node.sales.addEventListener('sale', (e) => {
          if (globals.json) out(JSON.stringify({ event: 'sale', ...e.detail }))
          else out(saleLine(e.detail))
        })
        node.services.x402.addEventListener('payment:failed', (e) => {
          const { codeName, message } = e.detail.error ?? { codeName: 'UNKNOWN', message: '' }
          if (codeName === 'EXECUTION_FAILED' || codeName === 'SETTLEMENT_FAILED') return // a sale outcome, above
          const refused = { resource: e.detail.resource, buyer: e.detail.peer.toString(), codeName, message }
          if (globals.json) out(JSON.stringify({ event: 'refused', at: Date.now(), ...refused }))
          else
            out(
              `${new Date().toISOString()}  refused   ${refused.resource}  buyer ${refused.buyer}  ${codeName}: ${message}`
            )
        })
        const signal = await stopped
        progress(`${signal}: stopping…`)
        await api?.close()
      }
    )
    progress('stopped')
  }
}

function parsePort(value: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new CliError(`--api-port must be 0…65535, got "${value}"`)
  return port
}
