package io.linkbridge.spi;

import io.linkbridge.HostAndPort;
import io.linkbridge.RegistrationRejectedException;
import java.time.Duration;
import java.util.List;

/**
 * Where an agent session's messages go: one agent's stream, as a transport implements it. The
 * session calls it from several threads (the stream's, the write callbacks', the agent liveness',
 * the node's stop thread); the transport serialises the writes (one writer at a time). Methods
 * must not block.
 */
public interface AgentSink {

  /** Whether the stream takes another message now without buffering it (gRPC's {@code isReady()}). */
  boolean isReady();

  /** The agent's message {@code sequence} ({@code what}: register, update, shutdown_notice, deregister) was committed. */
  void ack(long sequence, String what, long revision);

  /** The agent's message was not committed (or not known to be): it may resend it, here or on another broker. */
  void nack(long sequence, String what, String description);

  /** A liveness check; the agent answers with a pong. */
  void ping(long sequence, Duration interval);

  /** This broker leaves: the agent registers with one of {@code brokers}, then ends this stream. */
  void brokerLeaving(List<HostAndPort> brokers, Duration gracePeriod);

  /** Ends the stream; nothing is sent after it. Called at most once. */
  void end(Ending ending);

  /** Why a session ended, and the refusal when the registry refused a message. */
  record Ending(Kind kind, RegistrationRejectedException.Reason refusal, String description) {
    public static Ending of(Kind kind, String description) {
      return new Ending(kind, null, description);
    }
  }

  /** Why a session ended. */
  enum Kind {
    /** The agent ended its stream: it is answered with an orderly end. */
    COMPLETED,
    /** A field of a message breaks a rule (the description names it). */
    INVALID,
    /** A message came out of order: before register, or a register as another agent. */
    OUT_OF_ORDER,
    /** The registry refused a message ({@link Ending#refusal()} says why); nothing of it was applied. */
    REFUSED,
    /** A newer stream of the same agent replaced this one on this broker (the agent is not detached). */
    SUPERSEDED,
    /** The agent answered no ping for the agent timeout. */
    TIMED_OUT,
    /** This broker is leaving (or left) and the agent did not move in time. */
    BROKER_LEAVING,
    /** The agent read none of the broker's last messages. */
    NOT_READING
  }
}
