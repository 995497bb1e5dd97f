package io.linkbridge.testing;

import io.linkbridge.Durations;
import io.linkbridge.LinkBridge;
import io.linkbridge.Node;
import io.linkbridge.Peer;
import io.linkbridge.ServiceInstance;
import io.linkbridge.ProxyConfig;
import io.linkbridge.ShutdownConfig;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/**
 * A broker in its own JVM, driven over stdin/stdout by {@link BrokerProcess}, so tests can kill it with
 * SIGKILL. Arguments: {@code id dataDir [api=host:port] [proxy=host:port] [heapBuffers=true] [electionTimeout=1500ms] [heartbeatInterval=100ms]
 * [agentTimeout=400ms] [gracePeriod=30s] peer=host:port...} (the consensus and transport
 * providers on the class path are found as usual). Commands, one a line:
 * {@code status}, {@code ids}, {@code write <prefix>}, {@code stop}, {@code shutdown} (graceful; answers
 * {@code terminated}). Exits when stdin closes.
 */
public final class BrokerMain {
  private static final PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);

  public static void main(String[] args) throws Exception {
    String id = args[0];
    Path dataDir = Path.of(args[1]);
    List<Peer> peers = new ArrayList<>();
    String raftAddress = null;
    String api = null;
    String proxyAddress = null;
    Duration election = Duration.ofMillis(500);
    Duration heartbeat = Duration.ofMillis(100);
    Duration agentTimeout = null;
    Duration gracePeriod = null;
    Integer ejectAfterFailures = null;
    for (int i = 2; i < args.length; i++) {
      String[] kv = args[i].split("=", 2);
      switch (kv[0]) {
        case "api" -> api = kv[1];
        case "proxy" -> proxyAddress = kv[1];
        case "heapBuffers" -> { // Netty's buffers on the heap, unpooled: a heap dump after GC then counts every byte the broker holds
          System.setProperty("io.grpc.netty.shaded.io.netty.noPreferDirect", kv[1]);
          System.setProperty("io.grpc.netty.shaded.io.netty.allocator.type", "unpooled");
        }
        case "electionTimeout" -> election = Durations.parse(kv[0], kv[1]);
        case "heartbeatInterval" -> heartbeat = Durations.parse(kv[0], kv[1]);
        case "agentTimeout" -> agentTimeout = Durations.parse(kv[0], kv[1]);
        case "gracePeriod" -> gracePeriod = Durations.parse(kv[0], kv[1]);
        case "ejectAfterFailures" -> ejectAfterFailures = Integer.parseInt(kv[1]);
        default -> {
          peers.add(Peer.of(kv[0], kv[1]));
          if (kv[0].equals(id)) {
            raftAddress = kv[1];
          }
        }
      }
    }
    var builder = LinkBridge.node().id(id).raftAddress(raftAddress).dataDir(dataDir).join(peers)
        .electionTimeout(election).heartbeatInterval(heartbeat);
    if (agentTimeout != null) {
      builder.agentTimeout(agentTimeout);
    }
    if (api != null) {
      builder.address(api);
    }
    if (proxyAddress != null) {
      builder.proxyAddress(proxyAddress);
    }
    if (gracePeriod != null) {
      builder.shutdown(ShutdownConfig.DEFAULT.withGracePeriod(gracePeriod));
    }
    if (ejectAfterFailures != null) {
      builder.proxy(ProxyConfig.DEFAULT.withEjection(ejectAfterFailures, ProxyConfig.DEFAULT.ejectionTime()));
    }
    Node node = builder.start();
    node.ready().get(60, TimeUnit.SECONDS);
    send("ready");
    AtomicBoolean writing = new AtomicBoolean();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      String[] cmd = line.trim().split(" ");
      switch (cmd[0]) {
        case "status" -> send("status " + node.leaderId().orElse("-") + " " + node.isLeader() + " " + node.registry().revision() + " "
            + node.registry().checksum() + " " + node.registry().state().instanceCount());
        case "ids" -> send("ids " + node.registry().state().allInstances().stream().map(ServiceInstance::id).collect(Collectors.joining(",")));
        case "write" -> {
          writing.set(true);
          startWriter(node, cmd[1], writing);
        }
        case "stop" -> writing.set(false);
        case "shutdown" -> { // graceful: agents and watchers move, then the broker leaves; answers once terminated
          node.shutdown();
          node.awaitTermination(Duration.ofMinutes(2));
          send("terminated");
        }
        default -> send("error unknown command " + line);
      }
    }
    node.shutdownNow();
  }

  /** Up to 16 registrations in flight; prints {@code ack <id>} for each acknowledged one. */
  private static void startWriter(Node node, String prefix, AtomicBoolean writing) {
    Thread t = new Thread(() -> {
      Semaphore window = new Semaphore(16);
      int n = 0;
      while (writing.get()) {
        try {
          window.acquire();
        } catch (InterruptedException e) {
          return;
        }
        String instanceId = prefix + "-" + (n++);
        ServiceInstance i = ServiceInstance.builder("orders").id(instanceId).endpoint("10.0.0.3", 7000).build();
        node.registry().register(i).whenComplete((rev, e) -> {
          window.release();
          if (e == null) {
            send("ack " + instanceId);
          }
        });
      }
      window.acquireUninterruptibly(16);
      send("stopped " + prefix);
    }, "writer-" + prefix);
    t.setDaemon(true);
    t.start();
  }

  private static synchronized void send(String line) {
    out.println(line);
  }
}
