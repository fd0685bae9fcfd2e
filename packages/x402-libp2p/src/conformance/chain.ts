import { type Address, type Hex, isAddressEqual, type PublicClient, parseAbi, parseEventLogs } from 'viem'
import { check } from './errors.ts'

const erc20 = parseAbi([
  'function balanceOf(address owner) view returns (uint256)',
  'event Transfer(address indexed from, address indexed to, uint256 value)'
])

/** The token balance of `owner`. */
export function balanceOf(client: PublicClient, token: Address, owner: Address): Promise<bigint> {
  return client.readContract({ address: token, abi: erc20, functionName: 'balanceOf', args: [owner] })
}

/** What a settlement must have moved. */
export interface ExpectedTransfer {
  token: Address
  /** Any sender when absent (a refund may come from another wallet than the payee). */
  from?: Address
  to: Address
  amount: bigint
}

/**
 * The transaction succeeded and its receipt holds the token `Transfer(from, to, amount)`: a settlement (spec §5 step
 * 10) or a refund (§7.5).
 */
export async function expectTransfer(
  client: PublicClient,
  transaction: Hex,
  expected: ExpectedTransfer
): Promise<void> {
  const receipt = await client.getTransactionReceipt({ hash: transaction })
  check(receipt.status === 'success', `transaction ${transaction} reverted`)
  const transfers = parseEventLogs({ abi: erc20, eventName: 'Transfer', logs: receipt.logs, strict: true })
  const found = transfers.some(
    (log) =>
      isAddressEqual(log.address, expected.token) &&
      (expected.from == null || isAddressEqual(log.args.from, expected.from)) &&
      isAddressEqual(log.args.to, expected.to) &&
      log.args.value === expected.amount
  )
  check(
    found,
    `transaction ${transaction} has no Transfer(${expected.from ?? 'any'}, ${expected.to}, ${expected.amount}) of ${expected.token}`
  )
}

/**
 * Tracks a balance across a step: `expect(delta)` checks it moved by exactly `delta`. Does nothing without a client.
 */
export async function watchBalance(
  client: PublicClient | undefined,
  token: Address,
  owner: Address
): Promise<{ expect(delta: bigint, what: string): Promise<void> }> {
  if (client == null) return { expect: async () => {} }
  const before = await balanceOf(client, token, owner)
  return {
    async expect(delta, what) {
      const after = await balanceOf(client, token, owner)
      check(after - before === delta, `${what}: balance of ${owner} moved by ${after - before}, expected ${delta}`)
    }
  }
}
