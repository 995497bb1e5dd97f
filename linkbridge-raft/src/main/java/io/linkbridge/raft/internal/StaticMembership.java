package io.linkbridge.raft.internal;

import io.atomix.cluster.ClusterMembershipEventListener;
import io.atomix.cluster.ClusterMembershipService;
import io.atomix.cluster.Member;
import io.atomix.cluster.MemberId;
import io.atomix.utils.net.Address;
import io.linkbridge.HostAndPort;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The cluster as Atomix's Raft server sees it: the fixed member list from the node's configuration.
 * Raft itself decides who is alive, so this never emits events.
 */
final class StaticMembership implements ClusterMembershipService {
  private final Member local;
  private final Map<MemberId, Member> members = new HashMap<>();

  StaticMembership(String localId, Map<MemberId, HostAndPort> addresses) {
    addresses.forEach((id, address) -> members.put(id, new StaticMember(id, Address.from(address.host(), address.port()))));
    this.local = members.get(MemberId.from(localId));
  }

  @Override
  public Member getLocalMember() {
    return local;
  }

  @Override
  public Set<Member> getMembers() {
    return Set.copyOf(members.values());
  }

  @Override
  public Member getMember(MemberId memberId) {
    return members.get(memberId);
  }

  @Override
  public void addListener(ClusterMembershipEventListener listener) {}

  @Override
  public void removeListener(ClusterMembershipEventListener listener) {}

  private static final class StaticMember extends Member {
    StaticMember(MemberId id, Address address) {
      super(id, address);
    }

    @Override
    public boolean isActive() {
      return true;
    }

    @Override
    public boolean isReachable() {
      return true;
    }
  }
}
