package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.Peer;
import io.linkbridge.testing.BrokerProcess;
import io.linkbridge.testing.FreePorts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Two broker processes with one id and one data directory: the second is refused at start, the first goes on. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SharedDataDirProcessTest {
  @TempDir Path dir;
  private final Set<String> acked = ConcurrentHashMap.newKeySet();
  private BrokerProcess first;
  private BrokerProcess second;
  private BrokerProcess restarted;

  @AfterEach
  void kill() {
    for (BrokerProcess b : new BrokerProcess[] {first, second, restarted}) {
      if (b != null) {
        b.kill();
      }
    }
  }

  @Test
  void secondProcessWithTheSameId_failsAtStartNamingTheDirectoryAndPid_firstAcknowledgesWrites_directoryFreeOnceTheFirstIsKilled() throws Exception {
    Path dataDir = dir.resolve("broker-1");
    List<Peer> cluster = List.of(Peer.of("broker-1", "127.0.0.1:" + FreePorts.next()));
    first = BrokerProcess.start("broker-1", dataDir, cluster, dir.resolve("first.log"), acked);
    first.awaitReady();
    writeSome(first, "a");

    // Another Raft port for the same id (a copy of the config edited by hand), so only the directory stands in its way.
    Path secondLog = dir.resolve("second.log");
    second = BrokerProcess.start("broker-1", dataDir, List.of(Peer.of("broker-1", "127.0.0.1:" + FreePorts.next())), secondLog, ConcurrentHashMap.newKeySet());
    assertThat(second.awaitExit(Duration.ofSeconds(30))).isNotZero();
    assertThat(Files.readString(secondLog)).contains("dataDir " + dataDir + " is in use by another broker (pid " + first.pid() + ", broker broker-1, since ")
        .contains("stop that broker first, or give each broker a dataDir of its own");

    writeSome(first, "b");
    assertThat(first.ids()).containsAll(acked);

    first.kill(); // SIGKILL: the OS drops the dead process's lock
    restarted = BrokerProcess.start("broker-1", dataDir, cluster, dir.resolve("restarted.log"), ConcurrentHashMap.newKeySet());
    restarted.awaitReady();
    assertThat(restarted.ids()).containsAll(acked);
  }

  /** Writes through {@code broker} until at least 50 registrations with {@code prefix} are acknowledged. */
  private void writeSome(BrokerProcess broker, String prefix) {
    broker.startWriting(prefix);
    await().atMost(Duration.ofSeconds(30)).until(() -> acked.stream().filter(id -> id.startsWith(prefix + "-")).count() >= 50);
    broker.stopWriting(prefix);
  }
}
