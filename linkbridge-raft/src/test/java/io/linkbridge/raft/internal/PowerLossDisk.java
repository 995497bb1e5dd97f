package io.linkbridge.raft.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * A model of a disk that loses everything not forced when the power goes: each force records the
 * file's bytes as they were when the force began (all of that is durable after it); {@link #cutPower}
 * puts every log segment back to what its last force made durable, and removes segments never forced.
 * Conservative: it keeps no byte a real disk might have kept by luck.
 */
final class PowerLossDisk implements LogForcer.Disk {
  private final Map<Path, byte[]> durable = new ConcurrentHashMap<>();
  private final boolean forces;

  private PowerLossDisk(boolean forces) {
    this.forces = forces;
  }

  /** A disk whose forces work. */
  static PowerLossDisk working() {
    return new PowerLossDisk(true);
  }

  /** A disk on which the adapter's force does nothing, as if it had been left out. */
  static PowerLossDisk ignoringForces() {
    return new PowerLossDisk(false);
  }

  @Override
  public void force(FileChannel channel, Path file) throws IOException {
    if (!forces) {
      return;
    }
    byte[] before = Files.readAllBytes(file);
    channel.force(false);
    durable.merge(file, before, (old, now) -> now.length >= old.length ? now : old);
  }

  /** Call with the member stopped: leaves in {@code raftDir} only what was forced. */
  void cutPower(Path raftDir) {
    try (Stream<Path> files = Files.list(raftDir)) {
      for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".log")).toList()) {
        byte[] kept = durable.get(f);
        if (kept == null) {
          Files.delete(f);
        } else {
          Files.write(f, kept);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
