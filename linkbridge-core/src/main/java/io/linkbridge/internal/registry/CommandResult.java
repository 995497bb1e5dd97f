package io.linkbridge.internal.registry;

import io.linkbridge.RegistrationRejectedException;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** The outcome of one applied {@link RegistryCommand}: the revision after it, or why it was refused. Immutable. */
public sealed interface CommandResult {

  /** The command was applied (or changed nothing); {@code revision} is the registry revision after it. */
  record Applied(long revision) implements CommandResult {}

  /** The command was refused; the registry is unchanged. */
  record Rejected(RegistrationRejectedException.Reason reason, String message) implements CommandResult {
    public Rejected {
      Objects.requireNonNull(reason, "reason");
      Objects.requireNonNull(message, "message");
    }

    /** The exception a caller of the API receives for this refusal. */
    public RegistrationRejectedException toException() {
      return new RegistrationRejectedException(reason, message);
    }
  }

  /**
   * The outcome of a {@link RegistryCommand.Atomic}: one result per command, in order. When
   * {@code applied} is false nothing of the group was applied; {@link #refusal()} says why.
   */
  record Atomic(boolean applied, List<CommandResult> results) implements CommandResult {
    public Atomic {
      results = List.copyOf(results);
    }

    /** The refusal that stopped the group, if it was not applied. */
    public Optional<Rejected> refusal() {
      if (applied) {
        return Optional.empty();
      }
      return results.stream().filter(r -> r instanceof Rejected).map(r -> (Rejected) r).findFirst();
    }

    /** The registry revision after the group (0 when it was not applied). */
    public long revision() {
      long revision = 0;
      for (CommandResult r : results) {
        if (r instanceof Applied a) {
          revision = Math.max(revision, a.revision());
        }
      }
      return revision;
    }
  }
}
