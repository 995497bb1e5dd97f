package io.linkbridge;

import java.util.Objects;

/**
 * A member of the broker cluster: its id and its Raft address ({@code host:port}). Immutable.
 *
 * @param id the broker id
 * @param raftAddress the address the broker's Raft transport listens on
 */
public record Peer(String id, HostAndPort raftAddress) {
  public Peer {
    Validation.requireId("peer id", id);
    Objects.requireNonNull(raftAddress, "raftAddress");
  }

  /** A peer from an id and a {@code host:port} string. */
  public static Peer of(String id, String raftAddress) {
    return new Peer(id, HostAndPort.parse("raftAddress of peer " + id, raftAddress));
  }

  @Override
  public String toString() {
    return id + "@" + raftAddress;
  }
}
