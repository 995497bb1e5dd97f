package io.linkbridge.raft.internal;

import io.atomix.protocols.raft.protocol.InstallRequest;
import io.atomix.protocols.raft.protocol.InstallResponse;
import io.atomix.protocols.raft.protocol.RaftResponse;
import java.util.function.LongSupplier;

/**
 * Answers a leader's snapshot install that this member does not need. Atomix 3.1.12's leader sends
 * its newest snapshot to every follower whose log reader has not passed the snapshot index, which
 * includes caught-up followers of an idle cluster. Such a follower usually takes its own snapshot at
 * the same index, and the two share one file name: whichever completes second deletes the file of
 * the other, and the next entry's snapshot check then fails and that entry is silently not applied
 * on the follower. A follower that has already applied the snapshot's index needs nothing from it,
 * so it acknowledges the install without touching its snapshot store.
 */
final class RedundantInstallFilter implements RaftMessageInterceptor {
  private final LongSupplier lastApplied;

  RedundantInstallFilter(LongSupplier lastApplied) {
    this.lastApplied = lastApplied;
  }

  @Override
  public Object answerInstead(Object request) {
    if (request instanceof InstallRequest install && install.snapshotIndex() <= lastApplied.getAsLong()) {
      return InstallResponse.builder().withStatus(RaftResponse.Status.OK).build();
    }
    return null;
  }
}
