package io.linkbridge.spi;

import java.util.Objects;

/**
 * What one member knows of another. Immutable.
 *
 * @param id the member id
 * @param address its Raft address ({@code host:port})
 * @param role LEADER, FOLLOWER, CANDIDATE or UNKNOWN as last seen
 * @param local whether this is the member that answered
 * @param millisSinceContact on the leader: milliseconds since this member last answered it; -1 when
 *     unknown: not the leader, the local member, or a member that has not answered this leader since it
 *     took office (never "forever": the caller bounds it by how long it has led)
 */
public record MemberStatus(String id, String address, String role, boolean local, long millisSinceContact) {
  public MemberStatus {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(role, "role");
  }
}
