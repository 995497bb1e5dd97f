package io.linkbridge.internal;

import io.linkbridge.LinkBridgeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The OS lock on a broker's data directory ({@code dataDir/LOCK}, {@link FileChannel#tryLock}),
 * held from the start of a node until it has terminated, so that no two brokers ever write one
 * directory. The OS drops the lock of a process that dies, SIGKILL included; the file itself stays
 * and records its last holder ({@code pid}, {@code broker}, {@code since}) for the message of a
 * broker that finds the directory taken.
 *
 * <p>On Linux these are POSIX record locks, which a process loses when it closes <em>any</em>
 * descriptor of the file. So this class never opens the file while this JVM holds it: a second
 * node of this JVM is refused from {@link #held}, without opening the file, and nothing else may
 * read a held LOCK file from inside the holder's JVM. Thread-safe.
 */
final class DataDirLock {
  static final String FILE_NAME = "LOCK";

  /** Locks held in this JVM by the identity of their file (device and inode where the OS has them); guarded by the class. */
  private static final Map<Object, DataDirLock> held = new HashMap<>();
  /**
   * Channels that met a lock some other code of this JVM holds (another class loader's copy of this
   * library): closing them would release that lock, so they stay open. Guarded by the class.
   */
  private static final List<FileChannel> kept = new ArrayList<>();

  private final Path file;
  private final Object identity;
  private final String holder;
  private final FileChannel channel;
  private final FileLock lock;

  private DataDirLock(Path file, Object identity, String holder, FileChannel channel, FileLock lock) {
    this.file = file;
    this.identity = identity;
    this.holder = holder;
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Locks {@code dataDir} (which must exist) for broker {@code brokerId}; throws
   * {@link LinkBridgeException} naming the directory and its holder when another broker has it.
   */
  static DataDirLock acquire(Path dataDir, String brokerId) {
    Path file = dataDir.resolve(FILE_NAME);
    synchronized (DataDirLock.class) {
      DataDirLock sameJvm = held.get(identityOrNull(file));
      if (sameJvm != null) {
        throw inUse(dataDir, "another node in this JVM (" + sameJvm.holder + ")", null);
      }
      FileChannel channel = open(file, dataDir);
      try {
        FileLock lock = channel.tryLock();
        if (lock == null) {
          String recorded = recordedHolder(channel);
          channel.close(); // this JVM holds no lock on the file: closing releases nothing
          throw inUse(dataDir, recorded.isEmpty() ? "another process, which has not recorded its pid yet" : "another broker (" + recorded + ")", null);
        }
        String holder = "pid " + ProcessHandle.current().pid() + ", broker " + brokerId + ", since " + Instant.now().truncatedTo(ChronoUnit.SECONDS);
        record(channel, holder);
        DataDirLock acquired = new DataDirLock(file, identity(file), holder, channel, lock);
        held.put(acquired.identity, acquired);
        return acquired;
      } catch (OverlappingFileLockException e) {
        kept.add(channel);
        throw inUse(dataDir, "another node in this JVM (pid " + ProcessHandle.current().pid() + ") of another copy of Link Bridge", e);
      } catch (IOException e) {
        closeQuietly(channel);
        throw new LinkBridgeException("cannot lock " + file + ": " + e.getMessage()
            + "; the dataDir must be on a local file system that supports file locks", e);
      }
    }
  }

  private static LinkBridgeException inUse(Path dataDir, String holder, Throwable cause) {
    return new LinkBridgeException("dataDir " + dataDir + " is in use by " + holder + ", which holds the lock on "
        + dataDir.resolve(FILE_NAME) + ": stop that broker first, or give each broker a dataDir of its own", cause);
  }

  private static FileChannel open(Path file, Path dataDir) {
    try {
      // No TRUNCATE_EXISTING: the file may be another holder's, and a refused start leaves it as it is.
      return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new LinkBridgeException("cannot open the lock file " + file + " of dataDir " + dataDir + ": " + e.getMessage()
          + "; check the path and its permissions", e);
    }
  }

  /** The first line of what the holder recorded, or empty; read through the channel already open, never a new one. */
  private static String recordedHolder(FileChannel channel) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate((int) Math.min(channel.size(), 4096));
    while (buf.hasRemaining() && channel.read(buf, buf.position()) > 0) {
      // read until full or end of file
    }
    return new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8).lines().findFirst().orElse("").strip();
  }

  private static void record(FileChannel channel, String holder) throws IOException {
    channel.truncate(0);
    ByteBuffer buf = ByteBuffer.wrap((holder + "\n").getBytes(StandardCharsets.UTF_8));
    while (buf.hasRemaining()) {
      channel.write(buf, buf.position());
    }
  }

  private static Object identityOrNull(Path file) {
    try {
      return identity(file);
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      throw new LinkBridgeException("cannot read the attributes of " + file + ": " + e.getMessage(), e);
    }
  }

  /** The file's device and inode when the OS has them (no descriptor opened), else its real path. */
  private static Object identity(Path file) throws IOException {
    Object key = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
    return key != null ? key : file.toRealPath();
  }

  /** What this lock recorded in its file: {@code pid <pid>, broker <id>, since <instant>}. */
  String holder() {
    return holder;
  }

  /**
   * Releases the lock; idempotent. The file stays: deleting it would let a broker that opened it just
   * before lock the deleted file while another creates and locks a new one.
   */
  void release() {
    synchronized (DataDirLock.class) {
      if (held.get(identity) != this) {
        return;
      }
      held.remove(identity);
      try {
        lock.release();
      } catch (IOException e) {
        // closing the channel below releases it as well
      }
      closeQuietly(channel);
    }
  }

  private static void closeQuietly(FileChannel channel) {
    try {
      channel.close();
    } catch (IOException e) {
      // nothing of ours is left open on it
    }
  }

  @Override
  public String toString() {
    return "DataDirLock{" + file + ", " + holder + "}";
  }
}
