import type { Account, Chain, PublicClient, Transport, WalletClient } from 'viem'

/** A viem wallet client with an account (the signer of the transaction). */
export type SignerClient = WalletClient<Transport, Chain | undefined, Account>

/** The clients a write needs: `walletClient` signs, `publicClient` simulates and waits for the receipt. */
export interface WriteClients {
  walletClient: SignerClient
  publicClient: PublicClient
  /** Aborts before sending or while waiting (the transaction itself cannot be recalled once sent). */
  signal?: AbortSignal
}
