package io.linkbridge.internal;

import io.linkbridge.LinkBridgeException;
import io.linkbridge.internal.registry.RegistryState;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * The registry snapshots of one broker in {@code dataDir/snapshots}: {@code registry-<revision>.snap},
 * written to a temporary file, forced to disk and renamed, so a crash never leaves a torn snapshot.
 * A file holds a header (magic, format, compression flag, revision, checksum) and the protobuf
 * encoding of the state, gzip-compressed or not. Reading checks the checksum. Thread-safe: listing
 * waits for a write in progress, so it never sees the moment between a new file and the deletion of
 * the oldest.
 */
public final class SnapshotFiles {
  private static final int MAGIC = 0x4C42534E; // "LBSN"
  private static final int FORMAT = 1;
  private static final String PREFIX = "registry-";
  private static final String SUFFIX = ".snap";

  private final Path dir;
  private final int retention;
  private final boolean compress;

  public SnapshotFiles(Path dir, int retention, boolean compress) {
    this.dir = dir;
    this.retention = retention;
    this.compress = compress;
  }

  /** Writes a snapshot of {@code state} and deletes all but the newest {@code retention} files. */
  public synchronized Path write(RegistryState state) throws IOException {
    Files.createDirectories(dir);
    byte[] payload = RegistryCodec.encodeSnapshot(state);
    ByteArrayOutputStream body = new ByteArrayOutputStream(payload.length / 2 + 64);
    try (DataOutputStream out = new DataOutputStream(body)) {
      out.writeInt(MAGIC);
      out.writeInt(FORMAT);
      out.writeBoolean(compress);
      out.writeLong(state.revision());
      out.writeLong(state.checksum());
      if (compress) {
        GZIPOutputStream gz = new GZIPOutputStream(out);
        gz.write(payload);
        gz.finish();
      } else {
        out.write(payload);
      }
    }
    Path target = dir.resolve(String.format("%s%020d%s", PREFIX, state.revision(), SUFFIX));
    Path tmp = dir.resolve(target.getFileName() + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      ByteBuffer buf = ByteBuffer.wrap(body.toByteArray());
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      ch.force(true);
    }
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    forceDirectory(dir);
    List<Path> all = list();
    for (int i = 0; i < all.size() - retention; i++) {
      Files.deleteIfExists(all.get(i));
    }
    return target;
  }

  /** The snapshot files, oldest first. */
  public synchronized List<Path> list() throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      List<Path> files = new ArrayList<>(s.filter(p -> {
        String n = p.getFileName().toString();
        return n.startsWith(PREFIX) && n.endsWith(SUFFIX);
      }).sorted().toList());
      return files;
    }
  }

  /** The newest snapshot, read and checked, if any. */
  public synchronized Optional<RegistryState> latest() throws IOException {
    List<Path> all = list();
    return all.isEmpty() ? Optional.empty() : Optional.of(read(all.get(all.size() - 1)));
  }

  /** Reads one snapshot file and checks its checksum. */
  public static RegistryState read(Path file) throws IOException {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(Files.readAllBytes(file)))) {
      if (in.readInt() != MAGIC) {
        throw new LinkBridgeException("snapshot " + file + " is not a Link Bridge snapshot (bad magic number)");
      }
      int format = in.readInt();
      if (format != FORMAT) {
        throw new LinkBridgeException("snapshot " + file + " has format " + format + "; this version reads format " + FORMAT);
      }
      boolean compressed = in.readBoolean();
      long revision = in.readLong();
      long checksum = in.readLong();
      byte[] payload = compressed ? new GZIPInputStream(in).readAllBytes() : in.readAllBytes();
      RegistryState state = RegistryCodec.decodeSnapshot(payload);
      if (state.revision() != revision || state.checksum() != checksum) {
        throw new LinkBridgeException("snapshot " + file + " is corrupt: header says revision " + revision + " checksum " + Long.toHexString(checksum)
            + ", content has revision " + state.revision() + " checksum " + Long.toHexString(state.checksum()));
      }
      return state;
    }
  }

  static void forceDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Some platforms cannot open a directory for fsync; the rename is still atomic there.
    }
  }
}
