package io.linkbridge;

import java.util.Objects;

/**
 * The registry refused a command after it was committed: for example an instance id owned by another
 * agent, or a deregistration of an unknown instance. The registry is unchanged.
 */
public class RegistrationRejectedException extends LinkBridgeException {
  private static final long serialVersionUID = 1L;

  /** Why a command was refused. */
  public enum Reason {
    /** The command breaks a model rule. */
    INVALID,
    /** The instance id belongs to another agent. */
    ALREADY_OWNED,
    /** No such instance or agent. */
    NOT_FOUND,
    /** The agent does not own the instance. */
    NOT_OWNER,
    /** The agent is DEAD or unknown and must attach to a broker first. */
    AGENT_DEAD,
    /**
     * A leader's time-based decision reached the log in a later Raft term than it was made in: a
     * deposed leader's view is not acted on. The registry is unchanged.
     */
    STALE_TERM,
    /**
     * A limit of this broker would be exceeded (for example {@code maxInstancesPerAgent}); the message
     * names the limit and the setting. Decided by the broker that took the request, before the log.
     */
    LIMIT,
    /**
     * An agent message older than one of the same agent run that the registry applied already (a
     * message that committed late, after a newer one went through another broker): what it would
     * have set is not applied. Inside an applied message's results; a register that was stale ends
     * its stream with it, so that the agent registers again with what it runs now.
     */
    STALE
  }

  private final Reason reason;

  public RegistrationRejectedException(Reason reason, String message) {
    super(message);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  /** Why the registry refused the command. */
  public Reason reason() {
    return reason;
  }
}
