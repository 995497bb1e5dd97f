package io.linkbridge.it;

import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.linkbridge.Agent;
import io.linkbridge.AgentBuilder;
import io.linkbridge.LinkBridge;
import io.linkbridge.Peer;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.WatchEvent;
import io.linkbridge.testing.BrokerProcess;
import io.linkbridge.testing.FreePorts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

/**
 * A fault campaign (not a test: run by hand, see docs/operations.md): 3 broker processes with the
 * default timeouts, live agents holding thousands of instances and writing, watchers on every broker;
 * rounds of SIGKILL of the leader (and restart), SIGSTOP of the leader and of a follower for 2 s.
 * Invariants: no watcher ever sees a live agent's instance removed; every acknowledged registration
 * is present at the end; every broker ends at the same revision and checksum. Prints one summary line.
 * Arguments: [seed] [rounds] [agents] [instancesPerAgent].
 */
public final class AgentFaultCampaign {
  public static void main(String[] args) throws Exception {
    long seed = args.length > 0 ? Long.parseLong(args[0]) : System.nanoTime();
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 6;
    int agentCount = args.length > 2 ? Integer.parseInt(args[2]) : 32;
    int perAgent = args.length > 3 ? Integer.parseInt(args[3]) : 250;
    Random random = new Random(seed);
    Path dir = Files.createTempDirectory("lb-campaign");
    List<Peer> peers = new ArrayList<>();
    List<String> api = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      peers.add(Peer.of("broker-" + (i + 1), "127.0.0.1:" + FreePorts.next()));
      api.add("127.0.0.1:" + FreePorts.next());
    }
    Set<String> brokerAcks = ConcurrentHashMap.newKeySet();
    BrokerProcess[] brokers = new BrokerProcess[3];
    for (int i = 0; i < 3; i++) {
      brokers[i] = start(i, peers, api, dir, brokerAcks);
    }
    for (BrokerProcess b : brokers) {
      b.awaitReady();
    }
    List<String> violations = new CopyOnWriteArrayList<>();
    AtomicLong events = new AtomicLong();
    List<ManagedChannel> channels = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ManagedChannel c = NettyChannelBuilder.forTarget(api.get(i)).usePlaintext().build();
      channels.add(c);
      int broker = i;
      Watches.watch(c, "orders", e -> {
        events.incrementAndGet();
        if (e.getType() == WatchEvent.Type.REMOVED) {
          violations.add("broker-" + (broker + 1) + " watcher got REMOVED " + e.getInstance().getId() + " at revision " + e.getRevision());
        }
      });
    }
    long started = System.nanoTime();
    List<Agent> agents = new ArrayList<>();
    for (int a = 0; a < agentCount; a++) {
      AgentBuilder b = LinkBridge.agent().id("agent-" + a).brokers(api.get(a % 3), api.get((a + 1) % 3), api.get((a + 2) % 3))
          .connectTimeout(Duration.ofSeconds(10));
      for (int n = 0; n < perAgent; n++) {
        b.register(ServiceInstance.builder("orders").id("a" + a + "-" + n).endpoint("10.0." + (a % 250) + "." + (n % 250), 7000 + n).build());
      }
      agents.add(b.start());
    }
    System.out.printf("agents up in %d ms%n", (System.nanoTime() - started) / 1_000_000);
    int expected = agentCount * perAgent;
    await().atMost(Duration.ofSeconds(120)).until(() -> IntStream.range(0, 3).allMatch(i -> brokers[i].status().instances() == expected));

    Set<String> acked = ConcurrentHashMap.newKeySet();
    AtomicBoolean writing = new AtomicBoolean(true);
    AtomicLong failedWrites = new AtomicLong();
    Thread writer = new Thread(() -> {
      for (int n = 0; writing.get(); n++) {
        Agent agent = agents.get(n % agents.size());
        String id = "w" + n;
        try {
          agent.register(ServiceInstance.builder("orders").id(id).endpoint("10.9.9.9", 9000).build());
          acked.add(id);
        } catch (RuntimeException e) {
          failedWrites.incrementAndGet(); // not acknowledged: the caller would retry
        }
      }
    }, "campaign-writer");
    writer.start();

    List<String> faults = new ArrayList<>();
    for (int round = 0; round < rounds; round++) {
      int leader = leader(brokers);
      int kind = random.nextInt(3);
      int target = kind == 2 ? (leader + 1 + random.nextInt(2)) % 3 : leader;
      long t0 = System.nanoTime();
      switch (kind) {
        case 0 -> {
          brokers[target].kill();
          waitFor(Duration.ofSeconds(3));
          brokers[target] = start(target, peers, api, dir, brokerAcks);
          brokers[target].awaitReady();
          faults.add("SIGKILL leader broker-" + (target + 1));
        }
        case 1, 2 -> {
          brokers[target].pause();
          waitFor(Duration.ofSeconds(2));
          brokers[target].resume();
          faults.add("SIGSTOP 2s " + (kind == 1 ? "leader" : "follower") + " broker-" + (target + 1));
        }
        default -> throw new IllegalStateException();
      }
      waitFor(Duration.ofSeconds(6)); // longer than agentTimeout: a wrong judgement would show
      System.out.printf("round %d: %s (%d ms), %d acked, %d failed writes, %d violations%n", round, faults.get(faults.size() - 1),
          (System.nanoTime() - t0) / 1_000_000, acked.size(), failedWrites.get(), violations.size());
    }
    writing.set(false);
    writer.join(30_000);
    int total = expected + acked.size();
    await().atMost(Duration.ofSeconds(60)).until(() -> IntStream.range(0, 3).allMatch(i -> brokers[i].status().instances() >= total));
    await().atMost(Duration.ofSeconds(30)).until(() -> IntStream.range(0, 3).mapToObj(i -> brokers[i].status())
        .map(s -> s.revision() + "/" + s.checksum()).distinct().count() == 1);
    Set<String> present = brokers[0].ids();
    acked.stream().filter(id -> !present.contains(id)).forEach(id -> violations.add("acknowledged " + id + " missing"));
    System.out.printf("SUMMARY seed=%d rounds=%d agents=%d instances=%d acked-writes=%d failed-writes=%d watch-events=%d faults=%s violations=%d %s%n",
        seed, rounds, agentCount, total, acked.size(), failedWrites.get(), events.get(), faults, violations.size(),
        violations.stream().limit(10).toList());
    agents.forEach(Agent::close);
    channels.forEach(ManagedChannel::shutdownNow);
    for (BrokerProcess b : brokers) {
      b.kill();
    }
    System.exit(violations.isEmpty() ? 0 : 1);
  }

  private static BrokerProcess start(int i, List<Peer> peers, List<String> api, Path dir, Set<String> acks) {
    return BrokerProcess.start(peers.get(i).id(), dir.resolve(peers.get(i).id()), api.get(i),
        List.of("electionTimeout=750ms", "heartbeatInterval=250ms"), peers, dir.resolve(peers.get(i).id() + ".log"), acks);
  }

  private static int leader(BrokerProcess[] brokers) {
    return await().atMost(Duration.ofSeconds(30)).until(() -> IntStream.range(0, 3).filter(i -> brokers[i].isAlive() && brokers[i].status().isLeader())
        .findFirst().orElse(-1), i -> i >= 0);
  }

  private static void waitFor(Duration d) {
    long until = System.nanoTime() + d.toNanos();
    await().atMost(d.plusSeconds(5)).pollInterval(Duration.ofMillis(50)).until(() -> System.nanoTime() >= until);
  }
}
