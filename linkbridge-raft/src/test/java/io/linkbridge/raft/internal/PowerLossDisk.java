package io.linkbridge.raft.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
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
  private final Map<Path, ArrayDeque<byte[]>> pending = new ConcurrentHashMap<>();
  private final int behind;
  private volatile boolean powerOff;

  private PowerLossDisk(int behind) {
    this.behind = behind;
  }

  /** A disk whose forces work: when a force returns, what it covered is durable. */
  static PowerLossDisk working() {
    return new PowerLossDisk(0);
  }

  /**
   * A disk whose force returns long before the data is durable (as if the adapter acknowledged before
   * its force completed): a force makes durable only what the force 50 calls earlier covered, so the
   * idle traffic after the last write (keep-alives) cannot catch up by luck.
   */
  static PowerLossDisk acknowledgingBeforeDurable() {
    return new PowerLossDisk(50);
  }

  /** The power goes now: nothing forced from here on is durable (stopping the member can take a while). */
  void powerOff() {
    powerOff = true;
  }

  @Override
  public void force(FileChannel channel, Path file) throws IOException {
    if (powerOff) {
      return;
    }
    byte[] before = Files.readAllBytes(file);
    channel.force(false);
    if (behind > 0) {
      ArrayDeque<byte[]> queue = pending.computeIfAbsent(file, f -> new ArrayDeque<>());
      byte[] old;
      synchronized (queue) {
        queue.add(before);
        old = queue.size() > behind ? queue.poll() : null;
      }
      if (old != null) {
        durable.merge(file, old, (was, now) -> now.length >= was.length ? now : was);
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
