package io.linkbridge.internal.registry;

import io.linkbridge.AgentInfo;
import io.linkbridge.ServiceInstance;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The registry's checksum: SHA-256 over an explicit encoding of the state, its first 8 bytes as a
 * long. Brokers compare checksums across versions, so the encoding is written out here field by field
 * and never delegated to a serializer whose output may change (protobuf does not promise canonical
 * bytes). Every string is its UTF-8 length (int) then its bytes; every collection its size then its
 * elements in sorted order:
 * <pre>
 * revision:long
 * instances: count, then for each (by service, then id):
 *   service id host port:int weight:int state agentId
 *   metadata: count, then key value (by key)
 *   grpcServices: count, then each (sorted)
 * agents: count, then for each (by id): id status brokers(count, sorted) deadSince:long (0: alive)
 * announced brokers, only when at least one broker announced its API address (so states without any
 * keep the checksum they had before announcements existed): count, then for each (by id): id address
 * agent fences, only when at least one agent sent fenced messages (so states without any keep the
 * checksum they had before fences existed): the marker string "fences", count, then for each (by
 * agent id): agentId incarnation version:long
 * </pre>
 * Changing this encoding changes every checksum: a cluster must not mix two encodings.
 */
final class CanonicalDigest {
  private final MessageDigest sha;
  private final ByteBuffer scratch = ByteBuffer.allocate(8);

  private CanonicalDigest() {
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every Java platform", e);
    }
  }

  static long of(RegistryState state) {
    CanonicalDigest d = new CanonicalDigest();
    d.putLong(state.revision());
    var instances = state.allInstances();
    d.putInt(instances.size());
    for (ServiceInstance i : instances) {
      d.putString(i.service());
      d.putString(i.id());
      d.putString(i.host());
      d.putInt(i.port());
      d.putInt(i.weight());
      d.putString(i.state().name());
      d.putString(i.agentId());
      Map<String, String> metadata = new TreeMap<>(i.metadata());
      d.putInt(metadata.size());
      metadata.forEach((k, v) -> {
        d.putString(k);
        d.putString(v);
      });
      TreeSet<String> grpc = new TreeSet<>(i.grpcServices());
      d.putInt(grpc.size());
      grpc.forEach(d::putString);
    }
    var agents = state.agents();
    d.putInt(agents.size());
    for (AgentInfo a : agents) {
      d.putString(a.id());
      d.putString(a.status().name());
      TreeSet<String> brokers = new TreeSet<>(a.brokers());
      d.putInt(brokers.size());
      brokers.forEach(d::putString);
      d.putLong(state.deadSince(a.id()).orElse(0));
    }
    var brokers = state.brokerAddresses();
    if (!brokers.isEmpty()) {
      d.putInt(brokers.size());
      brokers.forEach((id, address) -> {
        d.putString(id);
        d.putString(address.toString());
      });
    }
    var fences = state.fences();
    if (!fences.isEmpty()) {
      d.putString("fences"); // a state with fences and no announcement must not read as one with announcements
      d.putInt(fences.size());
      for (var f : fences) {
        d.putString(f.agentId());
        d.putString(f.incarnation());
        d.putLong(f.version());
      }
    }
    return ByteBuffer.wrap(d.sha.digest()).getLong();
  }

  private void putLong(long v) {
    scratch.clear();
    sha.update(scratch.putLong(v).array(), 0, 8);
  }

  private void putInt(int v) {
    scratch.clear();
    sha.update(scratch.putInt(v).array(), 0, 4);
  }

  private void putString(String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    putInt(b.length);
    sha.update(b);
  }
}
