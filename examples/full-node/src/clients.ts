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
}

/** Builds the node's viem clients on `rpcUrl`. */
export function createClients(rpcUrl: string, chain: Chain, wallet: LocalAccount, pollingInterval = 50): NodeClients {
  const transport = http(rpcUrl)
  return {
    publicClient: createPublicClient({ chain, transport, pollingInterval }),
    walletClient: createWalletClient({ account: wallet, chain, transport, pollingInterval })
  }
}
