package io.linkbridge;

/** The liveness of an agent as decided through the replicated log. */
public enum AgentStatus {
  /** At least one broker holds a live connection to it. */
  ALIVE,
  /** It announced its shutdown; its instances are draining. */
  DRAINING,
  /** No broker holds it any more; its instances have left the registry. */
  DEAD
}
