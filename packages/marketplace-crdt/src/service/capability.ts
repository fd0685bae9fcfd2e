import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'

/** Namespace of the DHT keys sellers provide, one per capability tag. */
export const CAPABILITY_NAMESPACE = 'betar/capability/'

/** The CID a seller provides on the DHT for a capability tag: CIDv1, raw, sha2-256 of `betar/capability/<tag>`. */
export async function capabilityCid(capability: string): Promise<CID> {
  const digest = await sha256.digest(new TextEncoder().encode(`${CAPABILITY_NAMESPACE}${capability}`))
  return CID.createV1(raw.code, digest)
}
