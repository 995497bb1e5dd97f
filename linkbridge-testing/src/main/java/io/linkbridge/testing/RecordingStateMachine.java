package io.linkbridge.testing;

import io.linkbridge.spi.StateMachine;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A {@link StateMachine} that records every non-empty entry in order (an empty entry is a barrier);
 * {@code apply} returns the entry's position. For tests of consensus engines. Thread-safe to read.
 */
public final class RecordingStateMachine implements StateMachine {
  /** The entries, as UTF-8 strings, in log order (restored with a snapshot). */
  public final List<String> entries = new CopyOnWriteArrayList<>();
  /** {@code "term:entry"} for each entry applied since this object was made (not restored). */
  public final List<String> termed = new CopyOnWriteArrayList<>();

  @Override
  public byte[] apply(long term, byte[] entry) {
    if (entry.length > 0) {
      entries.add(new String(entry, StandardCharsets.UTF_8));
      termed.add(term + ":" + new String(entry, StandardCharsets.UTF_8));
    }
    return Integer.toString(entries.size()).getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public void snapshot(OutputStream out) throws IOException {
    DataOutputStream d = new DataOutputStream(out);
    d.writeInt(entries.size());
    for (String e : entries) {
      d.writeUTF(e);
    }
    d.flush();
  }

  @Override
  public void restore(InputStream in) throws IOException {
    DataInputStream d = new DataInputStream(in);
    List<String> restored = new ArrayList<>();
    for (int n = d.readInt(); n > 0; n--) {
      restored.add(d.readUTF());
    }
    entries.clear();
    entries.addAll(restored);
  }
}
