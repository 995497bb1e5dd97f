package io.linkbridge.raft.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Remembers across restarts that a member's Raft state was found damaged (a snapshot that failed its
 * checksum while being restored), so the next start refuses it too; and moves damaged state aside
 * when the operator chose to discard it, keeping the Raft term and vote so the member never votes
 * twice in one term.
 */
final class DamageMarker {
  static final String FILE = "DAMAGED";
  /** Present while a member that discarded its state has not caught up: it grants no vote (see {@link VoteAbstention}). */
  static final String CATCHING_UP = "CATCHING_UP";

  private DamageMarker() {}

  static Optional<String> read(Path raftDir) throws IOException {
    Path f = raftDir.resolve(FILE);
    return Files.exists(f) ? Optional.of(Files.readString(f, StandardCharsets.UTF_8).trim()) : Optional.empty();
  }

  static void write(Path raftDir, String what) throws IOException {
    Files.writeString(raftDir.resolve(FILE), what + System.lineSeparator(), StandardCharsets.UTF_8);
  }

  static boolean catchingUp(Path raftDir) {
    return Files.exists(raftDir.resolve(CATCHING_UP));
  }

  static void caughtUp(Path raftDir) throws IOException {
    Files.deleteIfExists(raftDir.resolve(CATCHING_UP));
  }

  /** Moves the whole directory to a sibling {@code <name>.damaged-<millis>} and brings back the meta file (term and vote); returns where it went. */
  static Path moveAside(Path raftDir, String prefix) throws IOException {
    Path aside = raftDir.resolveSibling(raftDir.getFileName() + ".damaged-" + System.currentTimeMillis());
    Files.move(raftDir, aside);
    Files.createDirectories(raftDir);
    Files.writeString(raftDir.resolve(CATCHING_UP), "discarded damaged state at " + Instant.now() + System.lineSeparator());
    try (Stream<Path> files = Files.list(aside)) {
      List<Path> meta = files.filter(p -> p.getFileName().toString().equals(prefix + ".meta")).toList();
      for (Path m : meta) {
        Files.copy(m, raftDir.resolve(m.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
      }
    }
    return aside;
  }
}
