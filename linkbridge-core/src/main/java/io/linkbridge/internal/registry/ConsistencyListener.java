package io.linkbridge.internal.registry;

import io.linkbridge.registry.ClusterState;

/**
 * Told of the checksum commands as they are applied, in log order, so brokers can compare their
 * replicas at a common revision (see {@link RegistryCommand.ChecksumMark}). Runs on the apply thread:
 * must not block; hand the work (a checksum is a pass over the whole state) to another thread.
 */
public interface ConsistencyListener {

  /** Mark {@code markId} was applied; {@code state} is this replica's state at that point of the log (immutable). */
  void markApplied(String markId, ClusterState state);

  /** A broker's report was applied. */
  void reportApplied(RegistryCommand.ChecksumReport report);
}
