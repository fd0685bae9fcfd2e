import { type Datastore, Key } from 'interface-datastore'
import type { EpochedMarketplace } from '../core/epochs.ts'

/** `/betar/marketplace/epoch/<epoch>`: one snapshot (the document's own format) per held epoch. */
const EPOCH_PREFIX = '/betar/marketplace/epoch'
const epochKey = (epoch: number): Key => new Key(`${EPOCH_PREFIX}/${epoch}`)

/** The marketplace's epochs in the node's datastore. */
export class EpochStore {
  private readonly datastore: Datastore

  constructor(datastore: Datastore) {
    this.datastore = datastore
  }

  /** Loads every stored epoch the marketplace still keeps, and deletes the others. */
  async restore(market: EpochedMarketplace): Promise<void> {
    for await (const { key, value } of this.datastore.query({ prefix: EPOCH_PREFIX })) {
      const epoch = Number(key.baseNamespace())
      const doc = Number.isInteger(epoch) ? market.doc(epoch) : undefined
      if (doc == null)
        await this.datastore.delete(key) // an epoch too old to keep
      else doc.restore(value)
    }
  }

  /** Writes every held epoch. */
  async save(market: EpochedMarketplace): Promise<void> {
    for (const epoch of market.epochs()) {
      const doc = market.doc(epoch)
      if (doc != null) await this.datastore.put(epochKey(epoch), doc.snapshot())
    }
  }

  /** Deletes a dropped epoch. */
  async drop(epoch: number): Promise<void> {
    await this.datastore.delete(epochKey(epoch))
  }
}
