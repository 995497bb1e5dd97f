package io.linkbridge.internal;

import java.util.function.Supplier;

/**
 * Model rules (name patterns, lengths, metadata limits) are checked at the edges, where values come
 * in: builders, the public constructors, the gRPC mapping. What the Raft log or a snapshot holds
 * passed those checks when it was written, and must replay the same way in every later version, even
 * one with a tightened rule: so the state machine decodes it inside {@link #run}, where the model
 * records skip their rule checks (they still normalise and reject nulls). Per thread.
 */
public final class TrustedDecoding {
  private static final ThreadLocal<Boolean> ACTIVE = ThreadLocal.withInitial(() -> Boolean.FALSE);

  private TrustedDecoding() {}

  /** Whether the current thread is decoding stored state (model rule checks skipped). */
  public static boolean active() {
    return ACTIVE.get();
  }

  /** Runs {@code decode} with the model's rule checks skipped on this thread. */
  public static <T> T run(Supplier<T> decode) {
    boolean was = ACTIVE.get();
    ACTIVE.set(Boolean.TRUE);
    try {
      return decode.get();
    } finally {
      ACTIVE.set(was);
    }
  }
}
