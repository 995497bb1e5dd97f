package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.Peer;
import io.linkbridge.testing.BrokerProcess;
import io.linkbridge.testing.FreePorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broker started with a wrong peer list that names a running cluster's Raft addresses joins
 * nothing: the cluster refuses its messages and says so, it says it was refused, the cluster's
 * membership stays three, and the cluster keeps committing with one of its three down.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class StrangerTest {
  /** How Atomix's Kryo writes the ASCII string "broker-4" (last character with its high bit set). */
  private static final String KRYO_BROKER_4 = "broker-" + (char) ('4' | 0x80);

  @TempDir Path dir;
  private final List<BrokerProcess> processes = new ArrayList<>();

  @AfterEach
  void kill() {
    processes.forEach(BrokerProcess::kill);
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file, StandardCharsets.ISO_8859_1) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every byte under the broker's Raft directory, as Latin-1 text: ids are stored as plain strings. */
  private static String raftFiles(Path dataDir) throws IOException {
    try (Stream<Path> files = Files.walk(dataDir.resolve("raft"))) {
      return files.filter(Files::isRegularFile).map(StrangerTest::read).reduce("", String::concat);
    }
  }

  @Test
  void brokerWithAPeerListNamingAnotherCluster_joinsNothing_bothSidesLogIt() throws Exception {
    strangerJoinsNothing((cluster, address) -> {
      List<Peer> wrong = new ArrayList<>(cluster); // someone copied the cluster's list and added "itself"
      wrong.add(Peer.of("broker-4", address));
      return wrong;
    }, "broker-4");
  }

  @Test
  void brokerOfAnotherClusterWithTheSameIds_joinsNothing_bothSidesLogIt() throws Exception {
    strangerJoinsNothing((cluster, address) -> List.of(Peer.of("broker-1", address), cluster.get(1), cluster.get(2)), "broker-1");
  }

  /** {@code strangerPeers} gives the stranger's member list from the cluster's and the stranger's own Raft address. */
  private void strangerJoinsNothing(BiFunction<List<Peer>, String, List<Peer>> strangerPeers, String strangerId)
      throws Exception {
    List<Peer> cluster = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      cluster.add(Peer.of("broker-" + i, "127.0.0.1:" + FreePorts.next()));
    }
    Set<String> acked = ConcurrentHashMap.newKeySet();
    BrokerProcess[] members = new BrokerProcess[3];
    for (int i = 0; i < 3; i++) {
      members[i] = BrokerProcess.start(cluster.get(i).id(), dir.resolve(cluster.get(i).id()), cluster, dir.resolve(cluster.get(i).id() + ".log"), acked);
      processes.add(members[i]);
    }
    for (BrokerProcess m : members) {
      m.awaitReady();
    }

    List<Peer> wrong = strangerPeers.apply(cluster, "127.0.0.1:" + FreePorts.next());
    Path strangerLog = dir.resolve("stranger.log");
    processes.add(BrokerProcess.start(strangerId, dir.resolve("stranger"), wrong, strangerLog, acked));

    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      assertThat(read(strangerLog)).contains("refused our Raft messages").contains("is not this broker's cluster");
      assertThat(IntStream.range(1, 4).mapToObj(i -> read(dir.resolve("broker-" + i + ".log"))))
          .anySatisfy(log -> assertThat(log).contains("refused Raft messages from").contains("claims member '" + strangerId + "'"));
    });
    if (strangerId.equals("broker-4")) { // a new id: had it joined, the members' Raft configuration would name it
      for (int i = 1; i <= 3; i++) {
        assertThat(raftFiles(dir.resolve("broker-" + i))).doesNotContain("broker-4").doesNotContain(KRYO_BROKER_4);
      }
    }

    // still a 3-broker cluster: one down, the other two commit
    int leader = await().atMost(Duration.ofSeconds(20)).until(() -> IntStream.range(0, 3).filter(i -> members[i].status().isLeader())
        .findFirst().orElse(-1), i -> i >= 0);
    int down = (leader + 1) % 3;
    members[down].kill();
    BrokerProcess writer = members[(leader + 2) % 3];
    writer.startWriting("after");
    await().atMost(Duration.ofSeconds(20)).until(() -> acked.stream().anyMatch(id -> id.startsWith("after-")));
    writer.stopWriting("after");
  }
}
