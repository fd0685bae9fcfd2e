import { SettlementNonceManager } from '@betar/x402-libp2p'
import {
  type Account,
  type Chain,
  createPublicClient,
  createWalletClient,
  http,
  type LocalAccount,
  type PublicClient,
  type Transport,
  type WalletClient
} from 'viem'

/** The viem clients a node uses: reads, and writes signed by the node's wallet. */
export interface NodeClients {
  publicClient: PublicClient<Transport, Chain>
  walletClient: WalletClient<Transport, Chain, Account>
  /**
   * Hands out the wallet's transaction nonces to every writer of the node — x402 settlements, ERC-8004 registration,
   * feedback — so concurrent writes never collide (the wallet's viem account carries it).
   */
  nonceManager: SettlementNonceManager
}

/** Builds the node's viem clients on `rpcUrl`; every write of `wallet` draws its nonce from one shared manager. */
export function createClients(rpcUrl: string, chain: Chain, wallet: LocalAccount, pollingInterval = 50): NodeClients {
  const transport = http(rpcUrl)
  const nonceManager = new SettlementNonceManager()
  return {
    publicClient: createPublicClient({ chain, transport, pollingInterval }),
    walletClient: createWalletClient({ account: { ...wallet, nonceManager }, chain, transport, pollingInterval }),
    nonceManager
  }
}
