package io.linkbridge.raft.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.atomix.cluster.MemberId;
import io.linkbridge.HostAndPort;
import io.linkbridge.testing.FreePorts;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A member's Raft client requests go to the leader it knows, whatever member Atomix addressed
 * (a session Atomix had connected to a follower that froze waited a request timeout); Raft's own
 * messages go where they are addressed; and a leader this member's requests cannot reach is left to
 * Atomix's own failover.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ClientRequestRoutingTest {
  private final MemberId a = MemberId.from("broker-1");
  private final MemberId b = MemberId.from("broker-2");
  private final MemberId c = MemberId.from("broker-3");
  private final Map<MemberId, HostAndPort> members = Map.of(a, new HostAndPort("127.0.0.1", FreePorts.next()),
      b, new HostAndPort("127.0.0.1", FreePorts.next()), c, new HostAndPort("127.0.0.1", FreePorts.next()));
  private final GrpcMessaging messagingA = messaging(a);
  private final GrpcMessaging messagingB = messaging(b);
  private final GrpcMessaging messagingC = messaging(c);
  private final AtomicReference<MemberId> leader = new AtomicReference<>(c);

  private GrpcMessaging messaging(MemberId id) {
    return new GrpcMessaging(id, "c1", members.get(id), null, members, Duration.ofSeconds(2), new RaftMessageInterceptor() {});
  }

  @AfterEach
  void stop() {
    List.of(messagingA, messagingB, messagingC).forEach(GrpcMessaging::stop);
  }

  private void answerAs(GrpcMessaging m, String name) {
    for (String subject : List.of("raft-command", "raft-keep-alive", "raft-append")) {
      m.subscribe(subject, x -> x, (byte[] x) -> CompletableFuture.completedFuture(name.getBytes(StandardCharsets.UTF_8)), r -> r);
    }
  }

  private String send(String subject, MemberId to) {
    return new String(messagingA.send(subject, new byte[] {1}, x -> x, r -> r, to, Duration.ofSeconds(2)).join(), StandardCharsets.UTF_8);
  }

  @Test
  void clientRequestsGoToTheKnownLeader_raftMessagesWhereAddressed_andAnUnreachableLeaderIsLeftToAtomix() {
    List.of(messagingA, messagingB, messagingC).forEach(GrpcMessaging::start);
    answerAs(messagingB, "b");
    answerAs(messagingC, "c");
    messagingA.clientRequestsTo(leader::get);

    assertThat(send("raft-command", b)).as("a command Atomix addressed to follower b").isEqualTo("c");
    assertThat(send("raft-keep-alive", b)).isEqualTo("c");
    assertThat(send("raft-append", b)).as("Raft's own messages are not client requests").isEqualTo("b");

    leader.set(null);
    assertThat(send("raft-command", b)).as("no leader known: where Atomix addressed it").isEqualTo("b");

    leader.set(c);
    messagingC.stop(); // this member cannot reach the leader it knows
    assertThatThrownBy(() -> send("raft-command", b)).isInstanceOf(CompletionException.class).hasCauseInstanceOf(ConnectException.class);
    assertThat(send("raft-command", b)).as("Atomix's retry, after the leader failed this member: its own choice").isEqualTo("b");
    assertThat(send("raft-command", b)).as("and so on, until the leader answers again or the retry interval passes").isEqualTo("b");
  }
}
