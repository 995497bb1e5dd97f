package io.linkbridge.raft.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Discarding damaged state is crash-safe: a start never finds an empty Raft directory without its term, vote and marker. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class DamageMarkerTest {
  @TempDir Path dir;

  private Path damagedRaftDir() throws IOException {
    Path raft = dir.resolve("raft");
    Files.createDirectories(raft);
    Files.writeString(raft.resolve("raft.meta"), "term and vote");
    Files.writeString(raft.resolve("raft-1.log"), "damaged");
    return raft;
  }

  @Test
  void moveAside_keepsTheOldStateAside_andLeavesOnlyTermVoteAndTheMarker() throws IOException {
    Path raft = damagedRaftDir();
    Path aside = DamageMarker.moveAside(raft, "raft");
    assertThat(aside.resolve("raft-1.log")).exists();
    assertThat(Files.list(raft).map(p -> p.getFileName().toString()).toList()).containsExactlyInAnyOrder("raft.meta", DamageMarker.CATCHING_UP);
    assertThat(DamageMarker.catchingUp(raft)).isTrue();
  }

  @Test
  void crashBetweenTheRenames_theNextStartFinishesTheSwap() throws IOException {
    Path raft = damagedRaftDir();
    Path aside = DamageMarker.moveAside(raft, "raft");
    Files.move(raft, dir.resolve("raft.new")); // as if the crash came after the first rename
    DamageMarker.finishInterruptedDiscard(raft);
    assertThat(DamageMarker.catchingUp(raft)).isTrue();
    assertThat(raft.resolve("raft.meta")).hasContent("term and vote");
    assertThat(aside).exists();
  }

  @Test
  void crashBeforeTheSwap_theOldStateStays_andThePreparedOneIsDropped() throws IOException {
    Path raft = damagedRaftDir();
    Files.createDirectories(dir.resolve("raft.new").resolve("junk"));
    DamageMarker.finishInterruptedDiscard(raft);
    assertThat(dir.resolve("raft.new")).doesNotExist();
    assertThat(raft.resolve("raft-1.log")).exists();
  }
}
