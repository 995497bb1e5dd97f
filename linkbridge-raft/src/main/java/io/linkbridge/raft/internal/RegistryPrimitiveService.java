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

/**
 * Adapts the Link Bridge {@link StateMachine} to an Atomix primitive service. Atomix calls it on the
 * Raft server's state machine thread, in log order; snapshots (backup/restore) carry the state
 * machine's own bytes, length-prefixed.
 */
final class RegistryPrimitiveService implements PrimitiveService {
  private final StateMachine stateMachine;
  private final AppliedIndex appliedIndex;
  private final EntryTerms terms;

  RegistryPrimitiveService(StateMachine stateMachine, AppliedIndex appliedIndex, EntryTerms terms) {
    this.stateMachine = stateMachine;
    this.appliedIndex = appliedIndex;
    this.terms = terms;
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
    output.writeLong(appliedIndex.get());
    output.writeInt(bytes.size());
    output.write(bytes.toByteArray());
  }

  @Override
  public void restore(BackupInput input) {
    long index = input.readLong();
    byte[] bytes = input.readBytes(input.readInt());
    try {
      stateMachine.restore(new ByteArrayInputStream(bytes));
    } catch (IOException e) {
      throw new UncheckedIOException("state machine restore failed", e);
    }
    appliedIndex.set(index);
  }

  /** Returns {@code [index][result]} so the proposer can wait until its own member applied the entry. */
  @Override
  public byte[] apply(Commit<byte[]> commit) {
    byte[] result = stateMachine.apply(terms.termOf(commit.index()), commit.value());
    appliedIndex.set(commit.index());
    return java.nio.ByteBuffer.allocate(8 + result.length).putLong(commit.index()).put(result).array();
  }

  @Override
  @SuppressWarnings("rawtypes") // Atomix's interface declares the raw type
  public void register(Session session) {}

  @Override
  public void expire(SessionId sessionId) {}

  @Override
  public void close(SessionId sessionId) {}

}
