package io.linkbridge.internal.registry;

import com.google.protobuf.InvalidProtocolBufferException;
import io.linkbridge.RegistrationRejectedException.Reason;
import io.linkbridge.internal.RegistryCodec;
import io.linkbridge.internal.TrustedDecoding;
import io.linkbridge.internal.log.Command;
import io.linkbridge.registry.RegistryEvent;
import io.linkbridge.spi.StateMachine;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry's replicated state machine. Every broker applies every committed batch in log order and
 * so holds the same {@link RegistryState}.
 *
 * <p>Threading: {@link #apply}, {@link #snapshot} and {@link #restore} run on the consensus engine's
 * apply thread, one at a time. {@link #state()} may be read from any thread; it returns the state
 * after the last applied batch. Listeners run on the apply thread after the new state is published,
 * in revision order, and must not block.
 *
 * <p>Determinism: no clock, no randomness, no I/O in {@code apply}. Bytes that do not decode, and
 * commands that break a rule, produce a {@link CommandResult.Rejected}, never an exception.
 */
public final class RegistryStateMachine implements StateMachine {
  private static final Logger log = LoggerFactory.getLogger(RegistryStateMachine.class);

  /**
   * How many DEAD agents the registry remembers; beyond it the one that died first is forgotten
   * ({@link RegistryEvent.Type#AGENT_REMOVED}). A constant, not a setting: every replica must apply
   * the same rule.
   */
  public static final int DEAD_AGENTS_KEPT = 1_000;

  private final int deadAgentsKept;
  private volatile RegistryState state = RegistryState.EMPTY;
  private final List<Consumer<RegistryEvent>> listeners = new CopyOnWriteArrayList<>();
  private volatile ConsistencyListener consistency;

  public RegistryStateMachine() {
    this(DEAD_AGENTS_KEPT);
  }

  /** For tests that need the forgetting of DEAD agents to happen sooner. */
  RegistryStateMachine(int deadAgentsKept) {
    this.deadAgentsKept = deadAgentsKept;
  }

  /** The state after the last applied entry. */
  public RegistryState state() {
    return state;
  }

  /** Adds a listener for every change applied from now on. See the class comment for threading. */
  public void addListener(Consumer<RegistryEvent> listener) {
    listeners.add(listener);
  }

  public void removeListener(Consumer<RegistryEvent> listener) {
    listeners.remove(listener);
  }

  /** Sets the one listener for checksum marks and reports. See {@link ConsistencyListener} for threading. */
  public void consistencyListener(ConsistencyListener listener) {
    this.consistency = listener;
  }

  @Override
  public byte[] apply(long term, byte[] entry) {
    // Decoding and the changes run without re-checking model rules (the log's content was checked
    // when it came in); the listeners run outside that scope.
    Applied applied = TrustedDecoding.run(() -> mutate(term, entry));
    if (!applied.events().isEmpty()) {
      fire(applied.events());
    }
    ConsistencyListener c = consistency;
    if (c != null) {
      for (Object signal : applied.checks()) {
        try {
          if (signal instanceof RegistryMutation.MarkAt mark) {
            c.markApplied(mark.markId(), mark.state());
          } else {
            c.reportApplied((RegistryCommand.ChecksumReport) signal);
          }
        } catch (RuntimeException ex) {
          log.error("Consistency listener threw on {}", signal, ex);
        }
      }
    }
    return applied.results();
  }

  /** What one entry did: the encoded results, and the events and checksum signals to tell afterwards. */
  private record Applied(byte[] results, List<RegistryEvent> events, List<Object> checks) {}

  /** Decodes and applies one entry and publishes the new state; tells nobody. */
  private Applied mutate(long term, byte[] entry) {
    List<Command> commands;
    try {
      commands = RegistryCodec.decodeBatch(entry);
    } catch (InvalidProtocolBufferException e) {
      log.warn("Ignoring a log entry of {} bytes that is not a registry batch: {}", entry.length, e.getMessage());
      return new Applied(RegistryCodec.encodeResults(List.of(new CommandResult.Rejected(Reason.INVALID, "log entry is not a registry batch: "
          + e.getMessage()))), List.of(), List.of());
    }
    RegistryMutation m = new RegistryMutation(state, deadAgentsKept, term);
    List<CommandResult> results = new ArrayList<>(commands.size());
    for (Command c : commands) {
      RegistryCommand command;
      try {
        command = RegistryCodec.fromProto(c);
      } catch (IllegalArgumentException e) {
        results.add(new CommandResult.Rejected(Reason.INVALID, e.getMessage()));
        continue;
      }
      results.add(m.apply(command));
    }
    if (m.changed()) {
      state = m.build();
    }
    return new Applied(RegistryCodec.encodeResults(results), m.events(), m.checks());
  }

  /** Applies commands directly, without a log, as entries of term 1: for tests and tools. Returns one result per command. */
  public List<CommandResult> applyAll(List<RegistryCommand> commands) {
    return applyAll(1, commands);
  }

  /** Applies commands directly, without a log, as entries of {@code term}: for tests and tools. Returns one result per command. */
  public List<CommandResult> applyAll(long term, List<RegistryCommand> commands) {
    return RegistryCodec.decodeResults(apply(term, RegistryCodec.encodeBatch(commands)));
  }

  @Override
  public void snapshot(OutputStream out) throws IOException {
    out.write(RegistryCodec.encodeSnapshot(state));
  }

  @Override
  public void restore(InputStream in) throws IOException {
    byte[] bytes = in.readAllBytes();
    RegistryState restored;
    try {
      restored = TrustedDecoding.run(() -> {
        try {
          return RegistryCodec.decodeSnapshot(bytes);
        } catch (InvalidProtocolBufferException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    state = restored;
    fire(List.of(new RegistryEvent(restored.revision(), RegistryEvent.Type.STATE_RESTORED, null, null)));
  }

  private void fire(List<RegistryEvent> events) {
    for (Consumer<RegistryEvent> l : listeners) {
      for (RegistryEvent e : events) {
        try {
          l.accept(e);
        } catch (RuntimeException ex) {
          log.error("Registry listener {} threw on {}; it keeps receiving events", l, e, ex);
        }
      }
    }
  }

}
