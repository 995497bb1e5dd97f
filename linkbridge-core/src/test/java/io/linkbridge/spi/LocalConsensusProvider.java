package io.linkbridge.spi;

import io.linkbridge.LinkBridgeException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A single-member, in-memory consensus engine for tests of the layers above consensus (the gRPC API,
 * agents, clients): every proposal is applied at once, in call order. Not durable, not replicated.
 */
public final class LocalConsensusProvider implements ConsensusProvider {

  @Override
  public String name() {
    return "local-test";
  }

  @Override
  public ConsensusEngine create(ConsensusConfig config, StateMachine stateMachine) {
    return new Engine(config.memberId(), config.raftAddress().toString(), stateMachine);
  }

  private static final class Engine implements ConsensusEngine {
    private final String id;
    private final String address;
    private final StateMachine stateMachine;
    private long index;
    private volatile boolean stopped;

    Engine(String id, String address, StateMachine stateMachine) {
      this.id = id;
      this.address = address;
      this.stateMachine = stateMachine;
    }

    @Override
    public CompletableFuture<Void> start() {
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public synchronized CompletableFuture<byte[]> propose(byte[] entry) {
      if (stopped) {
        return CompletableFuture.failedFuture(new LinkBridgeException("local engine " + id + " is stopped"));
      }
      index++;
      return CompletableFuture.completedFuture(stateMachine.apply(1, entry));
    }

    @Override
    public void onFailure(Consumer<Throwable> listener) {}

    @Override
    public void markDamaged(String reason) {}

    @Override
    public long term() {
      return 1;
    }

    @Override
    public CompletableFuture<Void> transferLeadership(String memberId) {
      return memberId.equals(id) ? CompletableFuture.completedFuture(null)
          : CompletableFuture.failedFuture(new IllegalArgumentException("a local engine has no member '" + memberId + "'"));
    }

    @Override
    public CompletableFuture<Void> ready() {
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public Optional<String> leaderId() {
      return Optional.of(id);
    }

    @Override
    public boolean isLeader() {
      return !stopped;
    }

    @Override
    public void onLeaderChange(Consumer<Optional<String>> listener) {}

    @Override
    public synchronized long commitIndex() {
      return index;
    }

    @Override
    public synchronized long appliedIndex() {
      return index;
    }

    @Override
    public List<MemberStatus> members() {
      return List.of(new MemberStatus(id, address, "LEADER", true, -1));
    }

    @Override
    public CompletableFuture<Void> compact() {
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletableFuture<Void> shutdown() {
      stopped = true;
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public void shutdownNow() {
      stopped = true;
    }
  }
}
