package io.linkbridge.grpc.internal;

import io.grpc.Status;
import io.linkbridge.RegistrationRejectedException;
import io.linkbridge.RegistrationRejectedException.Reason;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * The one table between the registry's refusals ({@link Reason}) and gRPC status codes, used by the
 * broker to end a stream and by the agent to tell a refusal (thrown to the caller) from a broker
 * failure (retried elsewhere). One code per reason, so the mapping is the same both ways. Stateless.
 */
public final class StatusMapping {
  private static final Map<Reason, Status.Code> CODES = new EnumMap<>(Reason.class);
  private static final Map<Status.Code, Reason> REASONS = new EnumMap<>(Status.Code.class);

  static {
    put(Reason.INVALID, Status.Code.INVALID_ARGUMENT);
    put(Reason.ALREADY_OWNED, Status.Code.ALREADY_EXISTS);
    put(Reason.NOT_FOUND, Status.Code.NOT_FOUND);
    put(Reason.NOT_OWNER, Status.Code.PERMISSION_DENIED);
    put(Reason.AGENT_DEAD, Status.Code.FAILED_PRECONDITION);
    put(Reason.STALE_TERM, Status.Code.ABORTED);
    put(Reason.LIMIT, Status.Code.RESOURCE_EXHAUSTED);
    put(Reason.STALE, Status.Code.OUT_OF_RANGE); // the message's version is below the applied one; no stream is ended with it
  }

  private static void put(Reason reason, Status.Code code) {
    if (CODES.put(reason, code) != null || REASONS.put(code, reason) != null) {
      throw new AssertionError("StatusMapping maps " + reason + " or " + code + " twice");
    }
  }

  private StatusMapping() {}

  /** The status a broker answers a refusal with; add the refusal's message as its description. */
  public static Status statusOf(Reason reason) {
    return Status.fromCode(CODES.get(reason));
  }

  /** The refusal a status code stands for, if it stands for one. */
  public static Optional<Reason> reasonOf(Status.Code code) {
    return Optional.ofNullable(REASONS.get(code));
  }

  /**
   * The refusal of an agent's write, or empty when the status is a broker failure to retry elsewhere.
   * {@code ABORTED} is not one: it is only a refusal ({@link Reason#STALE_TERM}) for a leader's own
   * commands; on an agent's stream it means a newer stream of the agent replaced this one. Nor is
   * {@code OUT_OF_RANGE} ({@link Reason#STALE}): the stream registered older content than the
   * registry holds, and the agent registers again with what it runs now.
   */
  public static Optional<RegistrationRejectedException> agentRefusal(Status status, String what) {
    return reasonOf(status.getCode()).filter(r -> r != Reason.STALE_TERM && r != Reason.STALE)
        .map(r -> {
          RegistrationRejectedException e = new RegistrationRejectedException(r, what + ": " + status.getCode()
              + (status.getDescription() == null ? "" : " " + status.getDescription()));
          if (status.getCause() != null) {
            e.initCause(status.getCause());
          }
          return e;
        });
  }
}
