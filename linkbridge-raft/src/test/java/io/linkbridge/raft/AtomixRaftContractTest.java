package io.linkbridge.raft;

import io.linkbridge.testing.AbstractConsensusContractTest;
import io.linkbridge.spi.ConsensusProvider;

/** The consensus SPI contract, run against the Atomix Raft provider. */
class AtomixRaftContractTest extends AbstractConsensusContractTest {
  @Override
  protected ConsensusProvider provider() {
    return new AtomixRaftProvider();
  }
}
