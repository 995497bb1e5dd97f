package io.linkbridge.examples;

import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.linkbridge.LinkBridgeClient;
import io.linkbridge.ServiceInstance;
import io.linkbridge.Watch;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A client that keeps calling the instances of a service round robin, following a Link Bridge watch:
 * a SHUTDOWN_NOTICE takes the draining instance out of rotation at once, before it stops.
 */
final class CallingClient implements AutoCloseable {
  final AtomicLong calls = new AtomicLong();
  final AtomicLong failed = new AtomicLong();
  private final List<ServiceInstance> usable = new CopyOnWriteArrayList<>();
  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final Watch watch;
  private final Thread caller;

  CallingClient(LinkBridgeClient client, String service, Consumer<String> say) {
    watch = client.watch(service, e -> {
      switch (e.type()) {
        case SNAPSHOT -> {
          usable.clear();
          e.instances().stream().filter(ServiceInstance::takesCalls).forEach(usable::add);
        }
        case ADDED, UPDATED -> {
          usable.removeIf(i -> i.id().equals(e.instance().id()));
          if (e.instance().takesCalls()) {
            usable.add(e.instance());
          }
        }
        case REMOVED -> usable.removeIf(i -> i.id().equals(e.instance().id()));
        case SHUTDOWN_NOTICE -> {
          usable.removeIf(i -> i.id().equals(e.instance().id()));
          say.accept("client: SHUTDOWN_NOTICE for " + e.instance().id() + " at revision " + e.revision() + ", moving to "
              + e.instances().stream().map(ServiceInstance::id).toList());
        }
      }
    });
    caller = new Thread(this::callLoop, "demo-caller");
    caller.start();
  }

  private void callLoop() {
    int next = 0;
    while (running.get()) {
      List<ServiceInstance> now = new ArrayList<>(usable);
      if (!now.isEmpty()) {
        ServiceInstance target = now.get(next++ % now.size());
        ManagedChannel channel = channels.computeIfAbsent(target.id(),
            id -> NettyChannelBuilder.forAddress(target.host(), target.port()).usePlaintext().build());
        calls.incrementAndGet();
        try {
          HealthGrpc.newBlockingStub(channel).withDeadlineAfter(1, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance());
        } catch (RuntimeException e) {
          failed.incrementAndGet();
        }
      }
      try {
        TimeUnit.MILLISECONDS.sleep(10);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  List<String> usableIds() {
    return usable.stream().map(ServiceInstance::id).toList();
  }

  @Override
  public void close() {
    running.set(false);
    try {
      caller.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    watch.close();
    channels.values().forEach(ManagedChannel::shutdownNow);
  }

}
