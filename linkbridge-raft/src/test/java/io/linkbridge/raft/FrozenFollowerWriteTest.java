package io.linkbridge.raft;

import static org.assertj.core.api.Assertions.assertThat;

import io.linkbridge.ServiceInstance;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A follower that freezes (a GC pause, SIGSTOP) costs no other member's writes a request timeout.
 * Each member's Raft client session is connected to some server, which forwards its writes to the
 * leader; when that server was the frozen follower, the first write after the freeze waited the
 * whole request timeout (2 x electionTimeout) before Atomix tried another member: an agent moving
 * off a frozen broker took 3 s to register elsewhere. Client requests now go to the leader the
 * member knows. Which server a session picked is Atomix's choice, so the test freezes each round's
 * follower in fresh clusters; on the old code, some round met the slow path in nearly every run.
 */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FrozenFollowerWriteTest {
  /** TestCluster's electionTimeout is 500 ms: the Raft request timeout is 1 s. */
  private static final Duration BOUND = Duration.ofMillis(800);

  @TempDir Path dir;

  @Test
  void theFirstWriteThroughEveryOtherMember_afterAFollowerFroze_takesLessThanTheRequestTimeout() {
    List<String> slow = new ArrayList<>();
    for (int round = 0; round < 4; round++) {
      try (TestCluster cluster = new TestCluster(dir.resolve("round-" + round), 3).start()) {
        cluster.awaitReady();
        int leader = cluster.leaderIndex().orElseThrow();
        int frozen = (leader + 1 + round % 2) % 3;
        for (int i = 0; i < 3; i++) {
          for (int w = 0; w < 5; w++) {
            cluster.node(i).registry().register(instance("warm-" + i + "-" + w)).join(); // every member's session is open
          }
        }
        cluster.pause(frozen);
        for (int via = 0; via < 3; via++) {
          if (via == frozen) {
            continue;
          }
          long t0 = System.nanoTime();
          cluster.node(via).registry().register(instance("after-" + via)).join();
          Duration took = Duration.ofNanos(System.nanoTime() - t0);
          if (took.compareTo(BOUND) >= 0) {
            slow.add("round " + round + ": through " + (via == leader ? "the leader" : "the other follower") + " " + took.toMillis() + " ms");
          }
        }
        cluster.heal();
      }
    }
    assertThat(slow).as("first writes after a follower froze that took %s or more", BOUND).isEmpty();
  }

  private static ServiceInstance instance(String id) {
    return ServiceInstance.builder("orders").id(id).endpoint("10.0.0.1", 7000).build();
  }
}
