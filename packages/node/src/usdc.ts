import { type BetarNetwork, usdcAbi } from '@betar/devnet'
import type { Address, Chain, PublicClient, Transport } from 'viem'

/** The on-chain USDC balance of `address`, in atomic units. */
export function usdcBalance(
  publicClient: PublicClient<Transport, Chain>,
  network: BetarNetwork,
  address: Address
): Promise<bigint> {
  return publicClient.readContract({
    address: network.usdc.address,
    abi: usdcAbi,
    functionName: 'balanceOf',
    args: [address]
  })
}

/** Formats atomic USDC units, e.g. `1.25 USDC`. */
export function formatUsdc(amount: bigint, decimals = 6): string {
  const negative = amount < 0n
  const abs = negative ? -amount : amount
  const unit = 10n ** BigInt(decimals)
  const fraction = (abs % unit).toString().padStart(decimals, '0').replace(/0+$/, '')
  return `${negative ? '-' : ''}${abs / unit}${fraction !== '' ? `.${fraction}` : ''} USDC`
}
