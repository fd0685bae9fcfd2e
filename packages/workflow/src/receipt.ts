import { type Address, erc20Abi, type Hash, type PublicClient, parseEventLogs } from 'viem'
import { hashJson } from './canonical.ts'
import { RECEIPT_VERSION } from './constants.ts'
import type { WorkflowRecord } from './types.ts'

/**
 * One settled payment of a workflow, chained to the previous entry: `hash = keccak256(canonical JSON of every other
 * field, prev included)`. `outcome` is `result` (the step's result was received; `resultHash` is its SHA-256) or
 * `refunded` (the seller's handler failed and `refund` paid it back) or `charged` (paid, no result, no refund seen).
 */
export interface WorkflowReceiptEntry {
  seq: number
  stepId: string
  correlationId: string
  /** `<seller>/<listing id>` */
  listing: string
  seller: string
  resource: string
  payer: Address
  payTo: Address
  /** Settled amount, atomic units. */
  price: string
  settlementTx: Hash
  outcome: 'result' | 'refunded' | 'charged'
  resultHash?: `0x${string}`
  refund?: { transaction: Hash; amount: string }
  prev: `0x${string}`
  hash: `0x${string}`
}

/** A workflow's exportable receipt: the chain of its payments, verifiable offline with {@link verifyWorkflowReceipt}. */
export interface WorkflowReceipt {
  v: typeof RECEIPT_VERSION
  workflowId: string
  definitionHash: `0x${string}`
  /** CAIP-2 network and token the payments were made in. */
  network: string
  asset: Address
  budget: string
  /** Σ price − Σ refund over the entries. */
  spent: string
  status: string
  /** `keccak256(canonical {v, workflowId, definitionHash, network, asset})`: the chain's first `prev`. */
  genesis: `0x${string}`
  entries: WorkflowReceiptEntry[]
  /** The last entry's hash (the genesis when there is none). */
  head: `0x${string}`
}

/** The hash a workflow's receipt chain starts from. */
export function receiptGenesis(fields: {
  workflowId: string
  definitionHash: `0x${string}`
  network: string
  asset: string
}): `0x${string}` {
  return hashJson({
    v: RECEIPT_VERSION,
    workflowId: fields.workflowId,
    definitionHash: fields.definitionHash,
    network: fields.network,
    asset: fields.asset.toLowerCase()
  })
}

/** The exportable receipt of a stored workflow (its chain as recorded, with the genesis and head). */
export function workflowReceipt(record: WorkflowRecord): WorkflowReceipt {
  const genesis = receiptGenesis({ workflowId: record.id, ...record })
  return {
    v: RECEIPT_VERSION,
    workflowId: record.id,
    definitionHash: record.definitionHash,
    network: record.network,
    asset: record.asset as Address,
    budget: record.budget,
    spent: receiptSpent(record.receipt).toString(),
    status: record.status,
    genesis,
    entries: record.receipt,
    head: record.receipt.at(-1)?.hash ?? genesis
  }
}

/** Links `entry` after `prev`: sets `prev` and `hash`. */
export function chainEntry(
  entry: Omit<WorkflowReceiptEntry, 'prev' | 'hash'>,
  prev: `0x${string}`
): WorkflowReceiptEntry {
  const linked = { ...entry, prev }
  return { ...linked, hash: hashJson(linked) }
}

/** Σ price − Σ refund of a chain, atomic units. */
export function receiptSpent(entries: readonly WorkflowReceiptEntry[]): bigint {
  return entries.reduce((sum, e) => sum + BigInt(e.price) - BigInt(e.refund?.amount ?? '0'), 0n)
}

/** What {@link verifyWorkflowReceipt} found. */
export interface ReceiptVerification {
  ok: boolean
  /** One line per problem: a broken link, a hash that does not match, a transfer not found on-chain. */
  issues: string[]
  /** Σ price − Σ refund, as proven by the transfers found. */
  spent: bigint
}

/**
 * Verifies a workflow receipt on its own: the hash chain from the genesis to the head, the stated total, and for each
 * entry the settlement transaction's `Transfer` of `price` from the payer to the payee in `asset` (and the refund's
 * transfer back), read from the chain through `publicClient`. Needs nothing from the node that ran the workflow.
 */
export async function verifyWorkflowReceipt(
  receipt: WorkflowReceipt,
  publicClient: Pick<PublicClient, 'getTransactionReceipt'>,
  options: { signal?: AbortSignal } = {}
): Promise<ReceiptVerification> {
  const issues: string[] = []
  const genesis = receiptGenesis(receipt)
  if (genesis !== receipt.genesis) issues.push('genesis does not match the workflow id, definition and asset')
  let prev = genesis
  const seenTx = new Set<string>()
  let spent = 0n
  for (const [i, entry] of receipt.entries.entries()) {
    options.signal?.throwIfAborted()
    const { hash, ...rest } = entry
    if (entry.seq !== i) issues.push(`entry ${i}: seq ${entry.seq}`)
    if (entry.prev !== prev) issues.push(`entry ${i}: prev does not link to the previous entry`)
    if (hashJson(rest) !== hash) issues.push(`entry ${i}: hash does not match its content`)
    prev = hash
    const where = `entry ${i} (step ${entry.stepId})`
    if (seenTx.has(entry.settlementTx.toLowerCase()))
      issues.push(`${where}: settlement ${entry.settlementTx} counted twice`)
    seenTx.add(entry.settlementTx.toLowerCase())
    const paid = await findTransfer(publicClient, entry.settlementTx, receipt.asset, entry.payer, entry.payTo)
    if (paid.issue != null) issues.push(`${where}: settlement ${paid.issue}`)
    else if (paid.value !== BigInt(entry.price)) {
      issues.push(`${where}: settlement moved ${paid.value}, the receipt says ${entry.price}`)
    } else spent += paid.value
    if (entry.refund != null) {
      // A refund comes back from the payee or from the settling account that paid it: any sender, to the payer.
      const back = await findTransfer(publicClient, entry.refund.transaction, receipt.asset, undefined, entry.payer)
      if (back.issue != null) issues.push(`${where}: refund ${back.issue}`)
      else if (back.value !== BigInt(entry.refund.amount)) {
        issues.push(`${where}: refund moved ${back.value}, the receipt says ${entry.refund.amount}`)
      } else spent -= back.value
    }
  }
  if (prev !== receipt.head) issues.push('head is not the last entry')
  if (receiptSpent(receipt.entries).toString() !== receipt.spent)
    issues.push(`spent ${receipt.spent} is not the entries' sum`)
  if (spent.toString() !== receipt.spent)
    issues.push(`the chain shows ${spent} spent, the receipt says ${receipt.spent}`)
  return { ok: issues.length === 0, issues, spent }
}

async function findTransfer(
  publicClient: Pick<PublicClient, 'getTransactionReceipt'>,
  hash: Hash,
  asset: Address,
  from: Address | undefined,
  to: Address
): Promise<{ value: bigint; issue?: undefined } | { value?: undefined; issue: string }> {
  let tx: Awaited<ReturnType<PublicClient['getTransactionReceipt']>>
  try {
    tx = await publicClient.getTransactionReceipt({ hash })
  } catch {
    return { issue: `transaction ${hash} not found` }
  }
  if (tx.status !== 'success') return { issue: `transaction ${hash} reverted` }
  const transfers = parseEventLogs({ abi: erc20Abi, eventName: 'Transfer', logs: tx.logs }).filter(
    (l) =>
      l.address.toLowerCase() === asset.toLowerCase() &&
      l.args.to.toLowerCase() === to.toLowerCase() &&
      (from == null || l.args.from.toLowerCase() === from.toLowerCase())
  )
  if (transfers.length === 0) return { issue: `transaction ${hash} has no Transfer of ${asset} to ${to}` }
  return { value: transfers.reduce((s, l) => s + l.args.value, 0n) }
}
