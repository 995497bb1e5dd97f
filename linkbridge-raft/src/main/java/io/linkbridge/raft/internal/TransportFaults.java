package io.linkbridge.raft.internal;

import io.atomix.cluster.MemberId;
import io.linkbridge.spi.NetworkFaults;
import java.util.Set;
import java.util.stream.Collectors;

/** The Raft transport's fault seam (see {@link NetworkFaults}): the members this one is cut off from. Thread-safe. */
final class TransportFaults implements NetworkFaults {
  private volatile Set<MemberId> cutOff = Set.of();

  @Override
  public void cutOff(Set<String> memberIds) {
    cutOff = memberIds.stream().map(MemberId::from).collect(Collectors.toUnmodifiableSet());
  }

  @Override
  public void heal() {
    cutOff = Set.of();
  }

  boolean isCutOff(MemberId member) {
    return cutOff.contains(member);
  }
}
