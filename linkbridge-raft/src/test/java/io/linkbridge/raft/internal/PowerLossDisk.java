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
  private final Map<Path, byte[]> pending = new ConcurrentHashMap<>();
  private final boolean oneBehind;

  private PowerLossDisk(boolean oneBehind) {
    this.oneBehind = oneBehind;
  }

  /** A disk whose forces work: when a force returns, what it covered is durable. */
  static PowerLossDisk working() {
    return new PowerLossDisk(false);
  }

  /**
   * A disk whose force returns before the data is durable (as if the adapter acknowledged before its
   * force completed): each force makes durable only what the previous one covered.
   */
  static PowerLossDisk acknowledgingBeforeDurable() {
    return new PowerLossDisk(true);
  }

  @Override
  public void force(FileChannel channel, Path file) throws IOException {
    byte[] before = Files.readAllBytes(file);
    channel.force(false);
    if (oneBehind) {
      byte[] previous = pending.put(file, before);
      if (previous != null) {
        durable.merge(file, previous, (old, now) -> now.length >= old.length ? now : old);
      }
    } else {
      durable.merge(file, before, (old, now) -> now.length >= old.length ? now : old);
    }
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
