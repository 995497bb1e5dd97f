package io.linkbridge.raft.internal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Comparator;
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

  /**
   * Replaces {@code raftDir} by a fresh one that holds only the meta file (term and vote) and
   * {@link #CATCHING_UP}, and keeps the old one as a sibling {@code <name>.damaged-<millis>}; returns
   * where it went. Crash-safe: the fresh directory is built and forced as {@code <name>.new} first,
   * then swapped in by two renames; {@link #finishInterruptedDiscard} completes a swap a crash cut
   * short, so a start never finds an empty directory without its term, vote and marker.
   */
  static Path moveAside(Path raftDir, String prefix) throws IOException {
    Path fresh = fresh(raftDir);
    deleteTree(fresh); // an earlier attempt that never swapped
    Files.createDirectories(fresh);
    Path marker = fresh.resolve(CATCHING_UP);
    Files.writeString(marker, "discarded damaged state at " + Instant.now() + System.lineSeparator());
    force(marker);
    Path meta = raftDir.resolve(prefix + ".meta");
    if (Files.exists(meta)) {
      Files.copy(meta, fresh.resolve(meta.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
      force(fresh.resolve(meta.getFileName()));
    }
    force(fresh);
    Path aside = raftDir.resolveSibling(raftDir.getFileName() + ".damaged-" + System.currentTimeMillis());
    Files.move(raftDir, aside, StandardCopyOption.ATOMIC_MOVE);
    Files.move(fresh, raftDir, StandardCopyOption.ATOMIC_MOVE);
    force(raftDir.getParent());
    return aside;
  }

  /** Completes a {@link #moveAside} a crash interrupted between its two renames, or drops one that never began. */
  static void finishInterruptedDiscard(Path raftDir) throws IOException {
    Path fresh = fresh(raftDir);
    if (!Files.exists(fresh)) {
      return;
    }
    if (Files.exists(raftDir)) {
      deleteTree(fresh); // the swap never started: the old state is still in place
    } else {
      Files.move(fresh, raftDir, StandardCopyOption.ATOMIC_MOVE);
      force(raftDir.getParent());
    }
  }

  private static Path fresh(Path raftDir) {
    return raftDir.resolveSibling(raftDir.getFileName() + ".new");
  }

  private static void force(Path path) throws IOException {
    boolean dir = Files.isDirectory(path);
    try (FileChannel ch = FileChannel.open(path, dir ? StandardOpenOption.READ : StandardOpenOption.WRITE)) {
      ch.force(true);
    } catch (IOException e) {
      if (!dir) {
        throw e;
      } // not every platform can force a directory
    }
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> files = Files.walk(root)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
