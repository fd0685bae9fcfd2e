import {
  createTopicScoreParams,
  type PeerScoreParams,
  type PeerScoreThresholds,
  type TopicScoreParams
} from '@libp2p/gossipsub/score'

/**
 * GossipSub score parameters of each marketplace topic (one per epoch; the marketplace service installs them when it
 * joins a topic). Only invalid messages are penalised: the topic is quiet between heartbeats, so delivery-rate
 * penalties (P3, P3b) would punish honest peers. Positive credit is small (P1 ≤ 1, P2 ≤ 5) and the default topic score
 * cap is 10, so P4 — `-1 × invalid²`, decaying by 0.999 a second (half-life ≈ 11.5 min) — takes a peer past the
 * graylist threshold (−80) after **10 invalid updates**: `−100 + 10 < −80`. A peer that gets 1–3 wrong
 * (a clock-skew disagreement) stays above the gossip threshold.
 */
export const MARKETPLACE_TOPIC_SCORE_PARAMS: Readonly<TopicScoreParams> = Object.freeze(
  createTopicScoreParams({
    topicWeight: 1,
    // P1: time in mesh, +0.01 a second up to +1
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1_000,
    timeInMeshCap: 100,
    // P2: first deliveries of valid updates, +0.5 each up to +5, halving in ≈ 7 s
    firstMessageDeliveriesWeight: 0.5,
    firstMessageDeliveriesDecay: 0.9,
    firstMessageDeliveriesCap: 10,
    // P3, P3b: off
    meshMessageDeliveriesWeight: 0,
    meshMessageDeliveriesDecay: 0.5,
    meshMessageDeliveriesCap: 1,
    meshMessageDeliveriesThreshold: 1,
    meshMessageDeliveriesWindow: 10,
    meshMessageDeliveriesActivation: 5_000,
    meshFailurePenaltyWeight: 0,
    meshFailurePenaltyDecay: 0.5,
    // P4: invalid messages
    invalidMessageDeliveriesWeight: -1,
    invalidMessageDeliveriesDecay: 0.999
  })
)

/** Invalid updates after which a peer is graylisted with {@link MARKETPLACE_TOPIC_SCORE_PARAMS} (see there). */
export const INVALID_UPDATES_TO_GRAYLIST = 10

/**
 * Score thresholds for a Betar node's GossipSub (the GossipSub defaults, stated so the numbers above hold): below
 * −10 no gossip is exchanged, below −50 we do not publish to the peer, below −80 its RPCs are ignored (graylisted).
 * Opportunistic grafting at 5 suits the small positive scores the marketplace topics give.
 */
export const MARKETPLACE_SCORE_THRESHOLDS: Readonly<PeerScoreThresholds> = Object.freeze({
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  acceptPXThreshold: 10,
  opportunisticGraftThreshold: 5
})

/**
 * Peer score parameters for a Betar node's GossipSub. Topic parameters are left empty: the marketplace adds its
 * topics' as it joins them. `topicScoreCap` 10 bounds what good behaviour can offset. Pass `ipColocationFactorWeight: 0`
 * for test networks where every peer is on 127.0.0.1.
 */
export function marketplaceScoreParams(options: { ipColocationFactorWeight?: number } = {}): Partial<PeerScoreParams> {
  return {
    topicScoreCap: 10,
    ...(options.ipColocationFactorWeight != null ? { IPColocationFactorWeight: options.ipColocationFactorWeight } : {})
  }
}
