package io.linkbridge.raft.internal;

import io.linkbridge.spi.ConsensusConfig;
import io.linkbridge.spi.ConsensusEngine;
import io.linkbridge.spi.StateMachine;

/** Creates engines for the public provider, keeping the engine class package-private. */
public final class AtomixRaftEngines {
  private AtomixRaftEngines() {}

  public static ConsensusEngine create(ConsensusConfig config, StateMachine stateMachine) {
    return new AtomixRaftEngine(config, stateMachine);
  }

  /** How often an engine forced its log to disk; for durability tests. */
  public static long forceCount(ConsensusEngine engine) {
    return ((AtomixRaftEngine) engine).forceCount();
  }
}
