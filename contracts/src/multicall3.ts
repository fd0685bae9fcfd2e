/**
 * The canonical Multicall3 address, the same on nearly every EVM chain; viem's `multicall` calls it.
 * On a dev chain, put `multicall3DeployedBytecode` there with `testClient.setCode`.
 */
export const MULTICALL3_ADDRESS = '0xcA11bde05977b3631167028862bE2a173976CA11'
