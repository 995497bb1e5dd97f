package io.linkbridge;

import io.linkbridge.internal.TrustedDecoding;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * An agent as the registry knows it: its id, its status, and the brokers that hold a live
 * connection to it. Immutable and thread-safe.
 *
 * @param id the agent id
 * @param status the agent's status
 * @param brokers ids of the brokers the agent is attached to (sorted; empty when DEAD)
 */
public record AgentInfo(String id, AgentStatus status, Set<String> brokers) {
  public AgentInfo {
    Objects.requireNonNull(id, "id");
    if (!TrustedDecoding.active()) { // replayed state is not checked again (see ServiceInstance)
      Validation.requireId("agent id", id);
    }
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(brokers, "brokers");
    brokers = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(brokers));
  }
}
