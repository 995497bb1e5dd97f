package io.linkbridge.spi;

/**
 * Creates consensus engines. Found with {@link java.util.ServiceLoader} (list the implementation in
 * {@code META-INF/services/io.linkbridge.spi.ConsensusProvider}); a provider set with
 * {@code NodeBuilder.consensus(...)} wins over discovery. Implementations are thread-safe.
 */
public interface ConsensusProvider {

  /** A short name for logs and errors, such as {@code atomix-raft}. */
  String name();

  /** Creates an engine for one member; it does nothing until {@link ConsensusEngine#start()}. */
  ConsensusEngine create(ConsensusConfig config, StateMachine stateMachine);
}
