import { storeAsDataUri } from '@betar/reputation'
import { buyService, type Purchase } from '../../buyer.ts'
import { NoSellerError } from '../../errors.ts'
import { formatUsdc } from '../../usdc.ts'
import { GLOBAL_HELP, parseCommand, parsePositiveInt, parseUsdc } from '../args.ts'
import type { Command } from '../command.ts'
import { CliError } from '../errors.ts'
import { out, outJson, progress } from '../output.ts'
import { withNode } from '../session.ts'
import { findListings } from './discover.ts'

const USAGE = 'betar call <capability> <input> --max-price <usdc> [--bootstrap <ma>]... [options]'
const HELP = `Usage: ${USAGE}

Buys one job: finds the cheapest verified seller of <capability> within --max-price, pays it in USDC over
x402/libp2p, prints the result and the settlement, and rates the agent on ERC-8004. <input> is parsed as JSON
when it is valid JSON, else sent as a string.

  --max-price <usdc>   most to pay, e.g. 0.5 (required)
  --bootstrap <ma>     peer to dial first, repeatable
  --rating <0-100>     feedback given after the job (default 100)
  --timeout <ms>       dial and DHT search timeout (default 5000)

${GLOBAL_HELP}`

/** `betar call <capability> <input>`. */
export const callCommand: Command = {
  name: 'call',
  summary: 'buy one job from the cheapest seller of a capability',
  async run(argv) {
    const { values, positionals, globals, help } = parseCommand(
      argv,
      {
        bootstrap: { type: 'string', multiple: true },
        'max-price': { type: 'string' },
        rating: { type: 'string' },
        timeout: { type: 'string' }
      },
      { min: 2, max: 2, usage: USAGE }
    )
    if (help) return out(HELP)
    const [capability = '', rawInput = ''] = positionals
    if (values['max-price'] == null) throw new CliError(`--max-price <usdc> is required\nUsage: ${USAGE}`)
    const maxPrice = parseUsdc('--max-price', values['max-price'])
    const rating = values.rating != null ? Number(values.rating) : 100
    if (!Number.isInteger(rating) || rating < 0 || rating > 100) {
      throw new CliError(`--rating must be an integer in 0…100, got "${values.rating}"`)
    }
    const timeoutMs = values.timeout != null ? parsePositiveInt('--timeout', values.timeout) : 5000
    const input = parseInput(rawInput)

    const purchase = await withNode(
      globals,
      { persistent: false, bootstrap: values.bootstrap ?? [], dialTimeoutMs: timeoutMs },
      async (node): Promise<Purchase> => {
        progress(`looking for "${capability}" at most ${formatUsdc(maxPrice)}…`)
        const all = await findListings(node, capability, timeoutMs)
        if (all.length === 0) throw new CliError(`no seller offers "${capability}"`)
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
          throw new CliError(
            `insufficient USDC: wallet ${node.wallet.address} holds ${formatUsdc(balance)}, the job costs ${formatUsdc(price)}`
          )
        }
        progress('verifying, paying and calling…')
        try {
          // This process exits right after: a data: URI keeps the feedback file readable by everyone afterwards.
          return await buyService(node, capability, input, { maxPrice, rating, storeFeedback: storeAsDataUri })
        } catch (err) {
          if (err instanceof NoSellerError) throw new CliError(err.message)
          throw err
        }
      }
    )
    if (globals.json) {
      return outJson({
        output: purchase.output,
        seller: purchase.listing.seller,
        agentId: purchase.listing.erc8004?.agentId,
        amount: purchase.call.amount,
        payer: purchase.proof.fromAddress,
        payTo: purchase.proof.toAddress,
        transaction: purchase.proof.txHash,
        correlationId: purchase.call.correlationId,
        feedback: { txHash: purchase.feedback.txHash, uri: purchase.feedback.feedbackURI }
      })
    }
    out(`Result: ${JSON.stringify(purchase.output, null, 2)}`)
    out(`Paid ${formatUsdc(purchase.call.amount)} to ${purchase.proof.toAddress} (agent ${purchase.listing.name})`)
    out(`Settlement tx ${purchase.proof.txHash}`)
    out(`Feedback tx ${purchase.feedback.txHash}`)
  }
}

function parseInput(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown
  } catch {
    return raw
  }
}
