import {
  type BuyProgress,
  buyService,
  connectedPeers,
  formatUsdc,
  NoSellerError,
  type Purchase,
  resumePurchase,
  SellerUnreachableError
} from '@betar/node'
import { formatUnits } from 'viem'
import { GLOBAL_HELP, parseCommand, parsePositiveInt, parseUsdc } from '../args.ts'
import type { Command } from '../command.ts'
import { CliError } from '../errors.ts'
import { out, outJson, progress } from '../output.ts'
import { withNode } from '../session.ts'
import { CLI_NO_PEERS_HINT, findListings } from './discover.ts'

const USAGE =
  'betar call <capability> <input> --max-price <usdc> [--correlation-id <id>] [--bootstrap <ma>]... [options]\n' +
  '       betar call --resume <correlation-id> [--bootstrap <ma>]... [options]'
const HELP = `Usage: ${USAGE}

Buys one job: finds the cheapest verified seller of <capability> within --max-price, pays it in USDC over
x402/libp2p, prints the result and the settlement, and rates the agent on ERC-8004. <input> is parsed as JSON
when it is valid JSON, else sent as a string.

Every call is journaled in <data-dir> under its correlation id before anything is signed, with its result on
arrival. If it is interrupted (the seller or this process stopped mid-call), --resume <id> finishes it — the
stored result, or a re-ask with the payment already signed: it never pays twice. A task that fails on the
seller's side is refunded on-chain (or never charged); \`betar calls\` lists the history.

  --max-price <usdc>      most to pay, e.g. 0.5 (required for a new call)
  --correlation-id <id>   name the call (1-64 of A-Za-z0-9_-; default: random), to resume it later
  --resume <id>           finish a journaled call instead of buying again
  --bootstrap <ma>        peer to dial first, repeatable
  --rating <0-100>        feedback given after the job (default 100)
  --timeout <ms>          dial and DHT search timeout (default 5000)

${GLOBAL_HELP}`

const CORRELATION_ID = /^[A-Za-z0-9_-]{1,64}$/

/** `betar call <capability> <input>` and `betar call --resume <id>`. */
export const callCommand: Command = {
  name: 'call',
  summary: 'buy one job from the cheapest seller of a capability (or resume one)',
  async run(argv) {
    const { values, positionals, globals, help } = parseCommand(
      argv,
      {
        bootstrap: { type: 'string', multiple: true },
        'max-price': { type: 'string' },
        'correlation-id': { type: 'string' },
        resume: { type: 'string' },
        rating: { type: 'string' },
        timeout: { type: 'string' }
      },
      { min: 0, max: 2, usage: USAGE }
    )
    if (help) return out(HELP)
    const resume = values.resume
    const correlationId = resume ?? values['correlation-id']
    if (correlationId != null && !CORRELATION_ID.test(correlationId)) {
      throw new CliError(`a correlation id is 1-64 of A-Za-z0-9_-, got "${correlationId}"`)
    }
    if (resume != null && positionals.length > 0)
      throw new CliError(`--resume takes no <capability> <input>\nUsage: ${USAGE}`)
    if (resume == null && positionals.length !== 2) throw new CliError(`expected <capability> <input>\nUsage: ${USAGE}`)
    const [capability = '', rawInput = ''] = positionals
    if (resume == null && values['max-price'] == null) {
      throw new CliError(`--max-price <usdc> is required\nUsage: ${USAGE}`)
    }
    const maxPrice = values['max-price'] != null ? parseUsdc('--max-price', values['max-price']) : 0n
    const rating = values.rating != null ? Number(values.rating) : 100
    if (!Number.isInteger(rating) || rating < 0 || rating > 100) {
      throw new CliError(`--rating must be an integer in 0…100, got "${values.rating}"`)
    }
    const timeoutMs = values.timeout != null ? parsePositiveInt('--timeout', values.timeout) : 5000

    const onProgress = (event: BuyProgress) => {
      const line = progressLine(event)
      if (line != null) progress(line)
    }
    // Persistent: the journal (and the peer id a seller binds the call to) must outlive this process.
    const purchase = await withNode(
      globals,
      { persistent: true, bootstrap: values.bootstrap ?? [], dialTimeoutMs: timeoutMs },
      async (node): Promise<Purchase> => {
        if (resume != null) {
          progress(`resuming call ${resume}…`)
          return resumePurchase(node, resume, { onProgress })
        }
        progress(`looking for "${capability}" at most ${formatUsdc(maxPrice)}…`)
        const all = await findListings(node, capability, timeoutMs)
        if (all.length === 0) {
          const hint = connectedPeers(node) === 0 ? `: ${CLI_NO_PEERS_HINT}` : ''
          throw new CliError(`no seller offers "${capability}"${hint}`)
        }
        const affordable = all.filter((l) => BigInt(l.price.amount) <= maxPrice)
        const cheapest = all[0]
        if (affordable.length === 0 && cheapest != null) {
          throw new CliError(
            `the cheapest seller of "${capability}" asks ${formatUsdc(BigInt(cheapest.price.amount))}, ` +
              `above --max-price ${formatUsdc(maxPrice)}`
          )
        }
        const price = BigInt(affordable[0]?.price.amount ?? '0')
        const balance = await node.usdcBalance()
        if (balance < price) {
          const faucet =
            node.network.name === 'devnet'
              ? `\nfund it on the devnet: betar-devnet fund ${node.wallet.address} --devnet ${globals.devnet ?? '<summary.json>'}`
              : ''
          throw new CliError(
            `insufficient USDC: wallet ${node.wallet.address} holds ${formatUsdc(balance)}, the job costs ${formatUsdc(price)}${faucet}`
          )
        }
        const id = correlationId ?? crypto.randomUUID()
        try {
          // This process exits right after: a data: URI keeps the feedback file readable by everyone afterwards.
          return await buyService(node, capability, parseInput(rawInput), {
            maxPrice,
            rating,
            correlationId: id,
            feedbackStorage: 'data-uri',
            onProgress
          })
        } catch (err) {
          if (err instanceof NoSellerError || err instanceof SellerUnreachableError) throw new CliError(err.message)
          if (err instanceof Error && err.name === 'PaymentInterruptedError') {
            throw new CliError(`${err.message}\nresume it with: betar call --resume ${id}`)
          }
          throw err
        }
      }
    )
    const feedback = purchase.feedback
    if (globals.json) {
      return outJson({
        correlationId: purchase.correlationId,
        resumed: purchase.resumed,
        output: purchase.output,
        seller: purchase.listing.seller,
        agentId: purchase.listing.erc8004?.agentId,
        amount: purchase.call.amount,
        amountUsdc: formatUnits(purchase.call.amount, 6),
        payer: purchase.proof?.fromAddress ?? null,
        payTo: purchase.listing.price.payTo,
        transaction: purchase.call.settlement?.transaction ?? null,
        settlementCheck: purchase.call.settlementCheck ?? null,
        feedback:
          feedback != null
            ? {
                state: feedback.state,
                txHash: feedback.result?.txHash ?? null,
                uri: feedback.result?.feedbackURI ?? null,
                ...(feedback.lastError != null ? { lastError: feedback.lastError } : {})
              }
            : null,
        warnings: purchase.warnings
      })
    }
    out(`Result: ${JSON.stringify(purchase.output, null, 2)}`)
    out(`Paid ${formatUsdc(purchase.call.amount)} to ${purchase.listing.price.payTo} (agent ${purchase.listing.name})`)
    out(`Settlement tx ${purchase.call.settlement?.transaction ?? '(none)'} (${purchase.call.settlementCheck})`)
    out(`Correlation id ${purchase.correlationId}${purchase.resumed ? ' (resumed)' : ''}`)
    if (feedback?.result != null) out(`Feedback tx ${feedback.result.txHash}`)
    for (const warning of purchase.warnings) out(`Warning: ${warning}`)
  }
}

/**
 * A purchase step as a progress line on stderr (stdout, `--json` or not, holds only the result). Discovery and resuming
 * are said by the command itself, before `buyService` runs.
 */
function progressLine(event: BuyProgress): string | undefined {
  switch (event.type) {
    case 'buy:discovered': {
      const [cheapest] = event.detail.listings
      const price = cheapest != null ? `; the cheapest asks ${formatUsdc(BigInt(cheapest.price.amount))}` : ''
      return `${event.detail.listings.length} seller(s) within the price${price}`
    }
    case 'buy:connecting':
      return `connecting to "${event.detail.listing.name}" (peer ${event.detail.listing.seller})…`
    case 'buy:verifying':
      return `verifying its ERC-8004 identity (agent ${event.detail.listing.erc8004?.agentId ?? '?'}) and reputation…`
    case 'buy:verified': {
      const { agentId, score } = event.detail
      return `agent ${agentId} verified, ${score != null ? `score ${score.toFixed(1)}` : 'no score yet'}`
    }
    case 'buy:payment-signed':
      return `payment of ${formatUsdc(event.detail.amount)} to ${event.detail.payTo} signed (correlation id ${event.detail.correlationId})`
    case 'buy:payment-sent':
      return 'payment sent; waiting for the seller to settle it on-chain…'
    case 'buy:payment-settled':
      return "payment settled on-chain; waiting for the agent's result…"
    case 'buy:result': {
      const { transaction, settlementCheck } = event.detail
      return `result received; settlement ${transaction ?? '(none)'} ${settlementCheck ?? 'unchecked'}`
    }
    case 'buy:feedback':
      return `rating agent ${event.detail.agentId} ${event.detail.rating}/100 on ERC-8004…`
    default:
      return undefined
  }
}

function parseInput(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown
  } catch {
    return raw
  }
}
