package io.linkbridge.raft.internal;

import io.atomix.primitive.service.BackupInput;
import io.atomix.primitive.service.BackupOutput;
import io.atomix.primitive.service.Commit;
import io.atomix.primitive.service.PrimitiveService;
import io.atomix.primitive.service.ServiceContext;
import io.atomix.primitive.session.Session;
import io.atomix.primitive.session.SessionId;
import io.atomix.utils.serializer.Serializer;
import io.atomix.utils.time.WallClockTimestamp;
import io.linkbridge.spi.StateMachine;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.function.Consumer;
import java.util.zip.CRC32;

/**
 * Adapts the Link Bridge {@link StateMachine} to an Atomix primitive service. Atomix calls it on the
 * Raft server's state machine thread, in log order. Snapshots (backup/restore) carry the state
 * machine's own bytes as {@code [magic][index][length][crc32][bytes]}: Atomix's snapshot files have no
 * checksum of their own, and a damaged snapshot must stop the broker, not be served.
 */
final class RegistryPrimitiveService implements PrimitiveService {
  /** "LBS2": a snapshot with a checksum. Older snapshots start with the index and have none. */
  private static final int SNAPSHOT_MAGIC = 0x4C425332;

  private final StateMachine stateMachine;
  private final AppliedIndex appliedIndex;
  private final EntryTerms terms;
  private final Consumer<String> onDamaged;

  RegistryPrimitiveService(StateMachine stateMachine, AppliedIndex appliedIndex, EntryTerms terms, Consumer<String> onDamaged) {
    this.stateMachine = stateMachine;
    this.appliedIndex = appliedIndex;
    this.terms = terms;
    this.onDamaged = onDamaged;
  }

  @Override
  public void init(ServiceContext context) {}

  @Override
  public void tick(WallClockTimestamp timestamp) {}

  @Override
  public Serializer serializer() {
    return Serializer.using(RaftSerializers.PROTOCOL);
  }

  @Override
  public void backup(BackupOutput output) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try {
      stateMachine.snapshot(bytes);
    } catch (IOException e) {
      throw new UncheckedIOException("state machine snapshot failed", e);
    }
    byte[] body = bytes.toByteArray();
    output.writeInt(SNAPSHOT_MAGIC);
    output.writeLong(appliedIndex.get());
    long index = appliedIndex.get();
    output.writeInt(body.length);
    output.writeInt((int) crc(index, body));
    output.write(body);
  }

  @Override
  public void restore(BackupInput input) {
    long index;
    byte[] bytes;
    try {
      int first = input.readInt();
      if (first == SNAPSHOT_MAGIC) {
        index = input.readLong();
        int length = input.readInt();
        long expected = input.readInt() & 0xFFFFFFFFL;
        bytes = input.readBytes(length);
        if (crc(index, bytes) != expected) {
          throw new IllegalStateException("checksum mismatch (crc32 " + Long.toHexString(crc(index, bytes)) + ", recorded "
              + Long.toHexString(expected) + ")");
        }
      } else { // written before snapshots had a checksum
        index = ((long) first << 32) | (input.readInt() & 0xFFFFFFFFL);
        bytes = input.readBytes(input.readInt());
      }
      stateMachine.restore(new ByteArrayInputStream(bytes));
    } catch (IOException | RuntimeException e) {
      String what = "the newest Raft snapshot is damaged (" + e.getMessage() + ")";
      onDamaged.accept(what);
      throw new IllegalStateException(what, e);
    }
    appliedIndex.set(index);
  }

  /** Over the index and the state, so neither can change unseen. */
  private static long crc(long index, byte[] bytes) {
    CRC32 crc = new CRC32();
    crc.update(ByteBuffer.allocate(8).putLong(index).array());
    crc.update(bytes);
    return crc.getValue();
  }

  /**
   * Returns {@code [index][term][result]}: the proposer waits until its own member applied the
   * entry, and a follower whose log holds the same entry (same index and term) may apply up to it at
   * once (see {@code AtomixRaftEngine.learnCommit}).
   */
  @Override
  public byte[] apply(Commit<byte[]> commit) {
    long term;
    try {
      term = terms.termOf(commit.index());
    } catch (RuntimeException e) { // every replica must apply every entry alike: this one cannot, so it stops
      String what = "cannot read the term of log entry " + commit.index() + " (" + e.getMessage() + ")";
      onDamaged.accept(what);
      throw new IllegalStateException(what, e);
    }
    byte[] result = stateMachine.apply(term, commit.value());
    appliedIndex.set(commit.index());
    return ByteBuffer.allocate(16 + result.length).putLong(commit.index()).putLong(term).put(result).array();
  }

  @Override
  @SuppressWarnings("rawtypes") // Atomix's interface declares the raw type
  public void register(Session session) {}

  @Override
  public void expire(SessionId sessionId) {}

  @Override
  public void close(SessionId sessionId) {}

}
