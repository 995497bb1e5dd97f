package io.linkbridge.raft;

import io.linkbridge.spi.ConsensusConfig;
import io.linkbridge.spi.ConsensusEngine;
import io.linkbridge.spi.ConsensusProvider;
import io.linkbridge.spi.StateMachine;
import io.linkbridge.raft.internal.AtomixRaftEngines;

/**
 * The Atomix Raft 3.1.12 consensus provider, found by {@link java.util.ServiceLoader} when
 * {@code linkbridge-raft} is on the class path. Raft traffic runs over gRPC on each broker's raft
 * address; the log is forced to disk on a majority before a write is acknowledged. Thread-safe.
 */
public final class AtomixRaftProvider implements ConsensusProvider {

  @Override
  public String name() {
    return "atomix-raft";
  }

  @Override
  public ConsensusEngine create(ConsensusConfig config, StateMachine stateMachine) {
    return AtomixRaftEngines.create(config, stateMachine);
  }
}
