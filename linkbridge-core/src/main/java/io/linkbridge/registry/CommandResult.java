package io.linkbridge.registry;

import io.linkbridge.RegistrationRejectedException;
import java.util.Objects;

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
}
