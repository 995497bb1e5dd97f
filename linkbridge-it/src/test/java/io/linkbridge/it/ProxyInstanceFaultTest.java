package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.linkbridge.Agent;
import io.linkbridge.LinkBridge;
import io.linkbridge.Peer;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.DiscoverRequest;
import io.linkbridge.grpc.v1.DiscoveryServiceGrpc;
import io.linkbridge.it.process.EchoInstanceMain;
import io.linkbridge.testing.BrokerProcess;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.JavaCommand;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults of an instance behind the proxy, every party a process of its own but the callers and the
 * agent: 4 callers call through a broker process while one of two instance processes is frozen
 * (SIGSTOP) for 3 s and later killed (SIGKILL). While it is frozen, only its own calls fail, by
 * their deadline, and the broker goes on carrying the other instance's calls and answering its own
 * API at once (no network thread waits on the frozen instance). Once it is killed, only the calls
 * it had in flight fail (UNAVAILABLE; at most one more per caller, sent before the broker saw the
 * connection close); every later call goes to the other instance, with outlier ejection off: a
 * call the dead instance's address refuses is retried there.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProxyInstanceFaultTest {
  static final long DEADLINE_MILLIS = 1_000;

  private record Outcome(long atNanos, Status.Code code, String by) {}

  @TempDir Path dir;

  private static Process instance(Path dir, int port, String name) throws Exception {
    Process p = new ProcessBuilder(JavaCommand.of("128m", EchoInstanceMain.class, List.of(String.valueOf(port), name)))
        .redirectError(dir.resolve(name + ".log").toFile()).start();
    String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
    assertThat(line).as("instance %s started (see %s)", name, dir.resolve(name + ".log")).isEqualTo("ready");
    return p;
  }

  private static void signal(Process p, String signal) throws Exception {
    assertThat(new ProcessBuilder("kill", "-" + signal, String.valueOf(p.pid())).start().waitFor()).isZero();
  }

  /** Through the broker's API address, and through its proxy port (the frame path); Discover always through the API. */
  @ParameterizedTest(name = "through the {0}")
  @ValueSource(strings = {"API address", "proxy port"})
  void aFrozenInstanceFailsOnlyItsOwnCalls_aKilledOneOnlyThoseInFlight(String path) throws Exception {
    int portA = FreePorts.next();
    int portB = FreePorts.next();
    String api = "127.0.0.1:" + FreePorts.next();
    Set<String> acked = ConcurrentHashMap.newKeySet();
    AtomicBoolean running = new AtomicBoolean(true);
    ConcurrentLinkedQueue<Outcome> outcomes = new ConcurrentLinkedQueue<>();
    List<Thread> callers = new ArrayList<>();
    List<Process> instances = new ArrayList<>();
    BrokerProcess broker = null;
    String proxyPort = "127.0.0.1:" + FreePorts.next();
    ManagedChannel apiChannel = NettyChannelBuilder.forTarget(api).usePlaintext().build();
    ManagedChannel channel = path.equals("proxy port") ? NettyChannelBuilder.forTarget(proxyPort).usePlaintext().build() : apiChannel;
    try {
      Process a = instance(dir, portA, "a");
      instances.add(a);
      instances.add(instance(dir, portB, "b"));
      // outlier ejection off: after the kill, only the retry of calls the dead instance refused keeps calls from failing
      broker = BrokerProcess.start("broker-1", dir.resolve("broker-1"), api, List.of("ejectAfterFailures=0", "proxy=" + proxyPort),
          List.of(Peer.of("broker-1", "127.0.0.1:" + FreePorts.next())), dir.resolve("broker-1.log"), acked);
      broker.awaitReady();
      try (Agent agent = LinkBridge.agent().id("agent-1").brokers(api)
          .register(ServiceInstance.builder("echo").id("a").endpoint("127.0.0.1", portA).grpcService("test.Echo").build())
          .register(ServiceInstance.builder("echo").id("b").endpoint("127.0.0.1", portB).grpcService("test.Echo").build()).start()) {
        assertThat(agent.instances()).hasSize(2);
        for (int i = 0; i < 20; i++) { // warm-up, with time to spare: connections, class loading, JIT on both sides
          ClientCalls.blockingUnaryCall(channel, EchoInstanceMain.UNARY, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), "warm");
          DiscoveryServiceGrpc.newBlockingStub(apiChannel).withDeadlineAfter(10, TimeUnit.SECONDS)
              .discover(DiscoverRequest.newBuilder().setService("echo").build());
        }
        for (int i = 0; i < 4; i++) {
          Thread t = new Thread(() -> {
            while (running.get()) {
              String by = null;
              Status.Code code = Status.Code.OK;
              try {
                by = ClientCalls.blockingUnaryCall(channel, EchoInstanceMain.UNARY, CallOptions.DEFAULT.withDeadlineAfter(DEADLINE_MILLIS,
                    TimeUnit.MILLISECONDS), "hi").substring(0, 1);
              } catch (StatusRuntimeException e) {
                code = e.getStatus().getCode();
              }
              outcomes.add(new Outcome(System.nanoTime(), code, by));
            }
          }, "caller-" + i);
          t.start();
          callers.add(t);
        }
        long t0 = System.nanoTime();
        TimeUnit.SECONDS.sleep(2);
        long stopped = System.nanoTime();
        signal(a, "STOP");
        TimeUnit.MILLISECONDS.sleep(1_500);
        long asked = System.nanoTime();
        int discovered = DiscoveryServiceGrpc.newBlockingStub(apiChannel).withDeadlineAfter(5, TimeUnit.SECONDS)
            .discover(DiscoverRequest.newBuilder().setService("echo").build()).getInstancesCount();
        long discoverMillis = (System.nanoTime() - asked) / 1_000_000;
        TimeUnit.MILLISECONDS.sleep(1_500);
        long continued = System.nanoTime();
        signal(a, "CONT");
        TimeUnit.SECONDS.sleep(3);
        long killed = System.nanoTime();
        signal(a, "KILL");
        TimeUnit.SECONDS.sleep(4);
        long end = System.nanoTime();
        running.set(false);
        for (Thread t : callers) {
          t.join(5_000);
        }

        long slack = TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS + 500);
        List<Outcome> baseline = window(outcomes, t0, stopped);
        List<Outcome> frozen = window(outcomes, stopped, continued + slack);
        List<Outcome> thawed = window(outcomes, continued + slack, killed);
        List<Outcome> dying = window(outcomes, killed, killed + slack);
        List<Outcome> after = window(outcomes, killed + slack, end);
        System.out.printf(path + ": calls %d: baseline %d (%d failed), frozen %d (%d failed, %d by b), thawed %d (%d failed), killed %d (%d failed),"
            + " after %d (%d failed, %d by a); the broker's Discover took %d ms during the freeze%n", outcomes.size(), baseline.size(),
            failed(baseline).size(), frozen.size(), failed(frozen).size(), by(frozen, "b"), thawed.size(), failed(thawed).size(), dying.size(),
            failed(dying).size(), after.size(), failed(after).size(), by(after, "a"), discoverMillis);

        assertThat(failed(baseline)).isEmpty();
        assertThat(by(baseline, "a")).isPositive();
        assertThat(failed(frozen)).extracting(Outcome::code).containsOnly(Status.Code.DEADLINE_EXCEEDED);
        assertThat(by(frozen, "b")).as("the other instance's calls go on while one is frozen").isGreaterThan(20);
        assertThat(discovered).isEqualTo(2);
        assertThat(discoverMillis).as("the broker's own API answers while an instance is frozen (3 s)").isLessThan(1_500);
        assertThat(failed(thawed)).isEmpty();
        assertThat(by(thawed, "a")).as("the thawed instance takes calls again").isPositive();
        assertThat(failed(dying)).extracting(Outcome::code).containsOnly(Status.Code.UNAVAILABLE).hasSizeLessThanOrEqualTo(8);
        assertThat(failed(after)).as("after the kill, every call goes to the other instance").isEmpty();
        assertThat(after).hasSizeGreaterThan(50);
      }
    } finally {
      running.set(false);
      channel.shutdownNow();
      apiChannel.shutdownNow();
      if (broker != null) {
        broker.close();
      }
      instances.forEach(Process::destroyForcibly);
    }
  }

  private static List<Outcome> window(ConcurrentLinkedQueue<Outcome> all, long from, long to) {
    return all.stream().filter(o -> o.atNanos() >= from && o.atNanos() < to).toList();
  }

  private static List<Outcome> failed(List<Outcome> outcomes) {
    return outcomes.stream().filter(o -> o.code() != Status.Code.OK).toList();
  }

  private static long by(List<Outcome> outcomes, String name) {
    return outcomes.stream().filter(o -> name.equals(o.by())).count();
  }
}
