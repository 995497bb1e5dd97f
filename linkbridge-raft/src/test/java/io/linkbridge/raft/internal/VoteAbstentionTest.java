package io.linkbridge.raft.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.atomix.cluster.MemberId;
import io.atomix.protocols.raft.protocol.PollRequest;
import io.atomix.protocols.raft.protocol.PollResponse;
import io.atomix.protocols.raft.protocol.VoteRequest;
import io.atomix.protocols.raft.protocol.VoteResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class VoteAbstentionTest {
  private final VoteAbstention abstention = new VoteAbstention();
  private final VoteRequest vote = VoteRequest.builder().withTerm(7).withCandidate(MemberId.from("b2")).withLastLogIndex(0)
      .withLastLogTerm(0).build();
  private final PollRequest poll = PollRequest.builder().withTerm(7).withCandidate(MemberId.from("b2")).withLastLogIndex(0)
      .withLastLogTerm(0).build();

  @Test
  void afterDiscardingItsState_aMemberGrantsNoVoteAndNoPoll_untilCaughtUp() {
    abstention.abstainUntilCaughtUp();
    assertThat(abstention.answerInstead(vote)).isInstanceOfSatisfying(VoteResponse.class, r -> assertThat(r.voted()).isFalse());
    assertThat(abstention.answerInstead(poll)).isInstanceOfSatisfying(PollResponse.class, r -> assertThat(r.accepted()).isFalse());
    assertThat(abstention.beforeSend(vote)).isCompletedExceptionally(); // nor does it run for election itself
    assertThat(abstention.beforeSend(poll)).isCompletedExceptionally();
    abstention.caughtUp();
    assertThat(abstention.beforeSend(poll)).isCompletedWithValue(null);
    assertThat(abstention.answerInstead(vote)).isNull(); // Atomix decides again
    assertThat(abstention.answerInstead(poll)).isNull();
  }

  @Test
  void aMemberThatDiscardedNothing_votesAsAtomixDecides() {
    assertThat(abstention.answerInstead(vote)).isNull();
  }
}
