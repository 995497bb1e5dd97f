package io.linkbridge.raft.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.CRC32;

/**
 * Reads every Atomix log segment before the Raft server opens the log. Atomix 3.1.12 takes the first
 * entry whose checksum does not match for the end of the log, so a damaged entry in the middle would
 * silently drop every acknowledged entry after it. This check tells the two cases apart:
 * <ul>
 *   <li>a bad entry with nothing valid after it, in the newest segment: a write torn by a crash; the
 *       log ends there (Atomix overwrites it) and the caller logs a WARN;
 *   <li>a bad entry anywhere else (a valid entry follows it, or a newer segment exists): damage; the
 *       broker must not start on this log.
 * </ul>
 * Segment layout (Atomix 3.1.12, {@code FileChannelJournalSegmentWriter}): a 64-byte descriptor, then
 * entries {@code [int length][int crc32 of the bytes][bytes]}, ended by a zero length.
 */
final class LogIntegrityCheck {
  static final int DESCRIPTOR_BYTES = 64;

  /** What the check found: nothing, a torn tail (fine, logged), or damage (fatal). */
  record Finding(boolean damaged, Path file, long offset, String what) {
    String describe() {
      return what + " in " + file + " at byte offset " + offset;
    }
  }

  private LogIntegrityCheck() {}

  static Optional<Finding> check(Path directory, String prefix, int maxEntrySize) throws IOException {
    List<Path> segments;
    try (Stream<Path> files = Files.list(directory)) {
      segments = files.filter(p -> segmentId(p, prefix) >= 0).sorted((a, b) -> Long.compare(segmentId(a, prefix), segmentId(b, prefix))).toList();
    }
    for (int s = 0; s < segments.size(); s++) {
      boolean newest = s == segments.size() - 1;
      Optional<Finding> f = checkSegment(segments.get(s), maxEntrySize, newest);
      if (f.isPresent()) {
        return f;
      }
    }
    return Optional.empty();
  }

  private static Optional<Finding> checkSegment(Path file, int maxEntrySize, boolean newest) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.BIG_ENDIAN);
    int pos = DESCRIPTOR_BYTES;
    int largest = maxEntrySize; // entries written under a larger maxEntrySize than today's are still entries
    while (pos + 8 <= buf.limit()) {
      int length = buf.getInt(pos);
      if (length == 0) {
        return Optional.empty(); // the end of this segment's entries
      }
      if (validEntryAt(buf, pos, Integer.MAX_VALUE)) {
        largest = Math.max(largest, length);
      } else {
        boolean torn = newest && !anyValidEntryAfter(buf, pos, largest);
        return Optional.of(new Finding(!torn, file, pos, torn ? "a torn write at the end of the log"
            : "a damaged log entry (length " + length + ", or its checksum, does not match its bytes) with entries after it"));
      }
      pos += 8 + length;
    }
    return Optional.empty();
  }

  private static boolean validEntryAt(ByteBuffer buf, int pos, int maxEntrySize) {
    if (pos + 8 > buf.limit()) {
      return false;
    }
    int length = buf.getInt(pos);
    if (length <= 0 || length > maxEntrySize || pos + 8L + length > buf.limit()) {
      return false;
    }
    long expected = buf.getInt(pos + 4) & 0xFFFFFFFFL;
    CRC32 crc = new CRC32();
    crc.update(buf.array(), pos + 8, length);
    return crc.getValue() == expected;
  }

  /** Whether a well-formed entry starts anywhere after {@code pos}: then the bad one is not the log's torn tail. */
  private static boolean anyValidEntryAfter(ByteBuffer buf, int pos, int maxEntrySize) {
    for (int p = pos + 1; p + 8 <= buf.limit(); p++) {
      if (validEntryAt(buf, p, maxEntrySize)) {
        return true;
      }
    }
    return false;
  }

  static long segmentId(Path p, String prefix) {
    String n = p.getFileName().toString();
    if (!n.startsWith(prefix + "-") || !n.endsWith(".log")) {
      return -1;
    }
    try {
      return Long.parseLong(n.substring(prefix.length() + 1, n.length() - ".log".length()));
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
