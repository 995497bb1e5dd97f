package io.linkbridge.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.linkbridge.AgentStatus;
import io.linkbridge.InstanceState;
import io.linkbridge.LinkBridge;
import io.linkbridge.Node;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.AgentMessage;
import io.linkbridge.grpc.v1.Deregister;
import io.linkbridge.grpc.v1.Instance;
import io.linkbridge.grpc.v1.Pong;
import io.linkbridge.grpc.v1.Register;
import io.linkbridge.grpc.v1.ShutdownNotice;
import io.linkbridge.grpc.v1.Update;
import io.linkbridge.internal.DefaultNode;
import io.linkbridge.internal.registry.RegistryCommand;
import io.linkbridge.spi.LocalConsensusProvider;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.NodeLeakCheck;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The agent protocol against one broker (in-memory log), over real gRPC on loopback. */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AgentServiceTest {
  static final Duration HEARTBEAT = Duration.ofMillis(50);
  static final Duration AGENT_TIMEOUT = Duration.ofMillis(150);

  @TempDir Path dir;
  private Node node;
  private ManagedChannel channel;

  @BeforeEach
  void start() {
    int port = FreePorts.next();
    node = LinkBridge.node().id("broker-1").raftAddress("127.0.0.1:" + FreePorts.next()).address("127.0.0.1:" + port).dataDir(dir)
        .heartbeatInterval(HEARTBEAT).agentTimeout(AGENT_TIMEOUT).consensus(new LocalConsensusProvider()).start();
    NodeLeakCheck.track(node);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
  }

  @AfterEach
  void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    node.shutdownNow();
  }

  static Instance instance(String id) {
    return Instance.newBuilder().setService("greeter").setId(id).setHost("10.0.0.1").setPort(9000).addGrpcServices("helloworld.Greeter").build();
  }

  @Test
  void register_instancesOwnedByTheAgent_ackedWithTheCommittedRevision() {
    RawAgent agent = new RawAgent(channel).register("agent-a", instance("g1"), instance("g2"));
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.acks.size() == 1);
    assertThat(agent.acks.get(0).getWhat()).isEqualTo("register");
    assertThat(agent.acks.get(0).getRevision()).isEqualTo(node.registry().revision());
    assertThat(node.registry().instances("greeter")).extracting(ServiceInstance::id, ServiceInstance::agentId)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("g1", "agent-a"), org.assertj.core.groups.Tuple.tuple("g2", "agent-a"));
    assertThat(node.registry().state().agent("agent-a").orElseThrow().brokers()).containsExactly("broker-1");
  }

  @Test
  void update_addsAndReplacesOnlyWhatItCarries_drainingOneInstanceAlone() {
    RawAgent agent = new RawAgent(channel).register("agent-a", instance("g1"), instance("g2"));
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.acks.size() == 1);
    long before = node.registry().revision();
    agent.send(AgentMessage.newBuilder().setUpdate(Update.newBuilder().addInstances(instance("g3"))
        .addInstances(instance("g1").toBuilder().setState(io.linkbridge.grpc.v1.InstanceState.DRAINING))).build());
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.acks.size() == 2);
    assertThat(agent.acks.get(1).getWhat()).isEqualTo("update");
    assertThat(agent.acks.get(1).getRevision()).isEqualTo(before + 2); // g3 added, g1 drained; g2 untouched
    assertThat(node.registry().instances("greeter")).extracting(ServiceInstance::id, ServiceInstance::state).containsExactly(
        org.assertj.core.groups.Tuple.tuple("g1", InstanceState.DRAINING), org.assertj.core.groups.Tuple.tuple("g2", InstanceState.UP),
        org.assertj.core.groups.Tuple.tuple("g3", InstanceState.UP));
    assertThat(node.registry().instances("greeter")).extracting(ServiceInstance::agentId).containsOnly("agent-a");

    // a change committed through the agent's other broker: acknowledged, recorded, nothing committed
    agent.send(AgentMessage.newBuilder().setUpdate(Update.newBuilder().addInstances(instance("g4")).setCommittedElsewhere(true)).build());
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.acks.size() == 3);
    assertThat(agent.acks.get(2).getRevision()).isEqualTo(before + 2);
    assertThat(node.registry().revision()).isEqualTo(before + 2);
    assertThat(node.registry().instances("greeter")).extracting(ServiceInstance::id).containsExactly("g1", "g2", "g3");
  }

  @Test
  void detachedByTheLeadersCleanUp_theBrokerReattachesWithEverythingTheStreamRegisteredUpdatedAndDeregistered() {
    RawAgent agent = new RawAgent(channel).register("agent-a", instance("g1"), instance("g2"));
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.acks.size() == 1);
    agent.send(AgentMessage.newBuilder().setUpdate(Update.newBuilder().addInstances(instance("g3")).setCommittedElsewhere(true)).build());
    agent.send(AgentMessage.newBuilder().setDeregister(Deregister.newBuilder().setService("greeter").addInstanceIds("g2")).build());
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.acks.size() == 3);
    assertThat(node.registry().instances("greeter")).extracting(ServiceInstance::id).containsExactly("g1"); // g3 was only recorded

    ((DefaultNode) node).writes().submit(new RegistryCommand.DetachBroker("broker-1", 1)).join(); // as the leader does for an unreachable broker
    // at its next ping the broker finds the agent detached and attaches it again with what the stream runs now
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(node.registry().instances("greeter"))
        .extracting(ServiceInstance::id).containsExactly("g1", "g3"));
    assertThat(agent.closedWith.get()).isNull();
  }

  /**
   * A Register that commits late (the agent gave up on that broker, and its next change already
   * committed elsewhere) must not bring back older content: the second stream plays that Register.
   * It is attached, its content is not applied, and the stream is ended so that it registers again.
   */
  @Test
  void aLateRegisterOfTheSameRun_neverBringsBackOlderContent_aNewRunRegistersAnew() throws Exception {
    String run = "run-1";
    Instance old = instance("g1").toBuilder().putMetadata("v", "old").build();
    RawAgent agent = new RawAgent(channel).send(AgentMessage.newBuilder().setRegister(Register.newBuilder().setAgentId("agent-a")
        .setIncarnation(run).addInstances(old).addInstances(instance("g2"))).setVersion(0).setSequence(1).build());
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.acks.size() == 1);
    agent.send(AgentMessage.newBuilder().setUpdate(Update.newBuilder().addInstances(old.toBuilder().putMetadata("v", "new")))
        .setVersion(1).setSequence(2).build());
    agent.send(AgentMessage.newBuilder().setDeregister(Deregister.newBuilder().setService("greeter").addInstanceIds("g2"))
        .setVersion(2).setSequence(3).build());
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.acks.size() == 3);
    List<String> changes = new CopyOnWriteArrayList<>();
    AutoCloseable subscription = node.registry().subscribe(e -> {
      if (e.instance() != null) {
        changes.add(e.type() + " " + e.instance().id() + " " + e.instance().metadata().getOrDefault("v", "-"));
      }
    });
    try {
      RawAgent late = new RawAgent(channel).send(AgentMessage.newBuilder().setRegister(Register.newBuilder().setAgentId("agent-a")
          .setIncarnation(run).addInstances(old).addInstances(instance("g2"))).setVersion(0).setSequence(1).build());
      await().atMost(Duration.ofSeconds(5)).until(() -> late.closedWith.get() != null);
      assertThat(late.closedWith.get().getCode()).isEqualTo(Status.Code.OUT_OF_RANGE);
      assertThat(late.closedWith.get().getDescription()).contains("version 0", "version 2 is applied already", "register again");
      // its stream ended, so this one-broker agent is DEAD now: its instances leave, none comes back, no older content shows
      await().atMost(Duration.ofSeconds(5)).until(() -> node.registry().instances("greeter").isEmpty());
      assertThat(changes).containsExactly("INSTANCE_DEREGISTERED g1 new");
    } finally {
      subscription.close();
    }

    // a new run of the agent (it restarted) registers what it runs now, whatever the old run's version
    RawAgent restarted = new RawAgent(channel).send(AgentMessage.newBuilder().setRegister(Register.newBuilder().setAgentId("agent-a")
        .setIncarnation("run-2").addInstances(old)).setVersion(0).setSequence(1).build());
    await().atMost(Duration.ofSeconds(5)).until(() -> restarted.acks.size() == 1);
    assertThat(node.registry().instances("greeter")).extracting(i -> i.metadata().get("v")).containsExactly("old");
  }

  @Test
  void aBadIncarnationOrVersion_invalidArgumentNamingTheField() {
    RawAgent agent = new RawAgent(channel).send(AgentMessage.newBuilder().setRegister(Register.newBuilder().setAgentId("agent-a")
        .setIncarnation("x".repeat(65)).addInstances(instance("g1"))).build());
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.closedWith.get() != null);
    assertThat(agent.closedWith.get().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(agent.closedWith.get().getDescription()).contains("incarnation must be 1..64 characters, was 65");

    RawAgent negative = new RawAgent(channel).send(AgentMessage.newBuilder().setRegister(Register.newBuilder().setAgentId("agent-b")
        .setIncarnation("run").addInstances(instance("g2"))).build());
    await().atMost(Duration.ofSeconds(5)).until(() -> negative.acks.size() == 1);
    negative.send(AgentMessage.newBuilder().setUpdate(Update.newBuilder().addInstances(instance("g3"))).setVersion(-1).build());
    await().atMost(Duration.ofSeconds(5)).until(() -> negative.closedWith.get() != null);
    assertThat(negative.closedWith.get().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(negative.closedWith.get().getDescription()).contains("version (of the update message) must be >= 0, was -1");
    await().atMost(Duration.ofSeconds(5)).until(() -> node.registry().instances("greeter").isEmpty()); // detached: g2 leaves
    assertThat(node.registry().state().instance("greeter", "g3")).isEmpty(); // nothing of the bad message was applied

    RawAgent unfenced = new RawAgent(channel).send(AgentMessage.newBuilder().setRegister(Register.newBuilder().setAgentId("agent-c")
        .addInstances(instance("g4"))).setVersion(-5).build());
    await().atMost(Duration.ofSeconds(5)).until(() -> unfenced.closedWith.get() != null);
    assertThat(unfenced.closedWith.get().getDescription()).contains("version (of the register message) must be >= 0, was -5");
  }

  @Test
  void updateWithABadInstance_invalidArgumentNamingTheField_nothingChanged() {
    RawAgent agent = new RawAgent(channel).register("agent-a", instance("g1"));
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.acks.size() == 1);
    long before = node.registry().revision();
    agent.send(AgentMessage.newBuilder().setUpdate(Update.newBuilder().addInstances(instance("g2"))
        .addInstances(instance("g3").toBuilder().setService(""))).build());
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.closedWith.get() != null);
    assertThat(agent.closedWith.get().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(agent.closedWith.get().getDescription()).isEqualTo("update.instances[1].service must not be empty");
    await().atMost(Duration.ofSeconds(5)).until(() -> node.registry().instances("greeter").isEmpty()); // the agent's stream ended: detached
    assertThat(node.registry().revision()).isGreaterThan(before);
    assertThat(node.registry().state().allInstances()).extracting(ServiceInstance::id).doesNotContain("g2");
  }

  @Test
  void deregisterWithoutAService_invalidArgumentNamingTheField_nothingCommitted() {
    RawAgent agent = new RawAgent(channel).register("agent-a", instance("g1"));
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.acks.size() == 1);
    long before = node.registry().revision();
    agent.send(AgentMessage.newBuilder().setDeregister(Deregister.newBuilder().addInstanceIds("g1")).build());
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.closedWith.get() != null);
    assertThat(agent.closedWith.get().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(agent.closedWith.get().getDescription()).isEqualTo("deregister.service must not be empty");
    await().atMost(Duration.ofSeconds(5)).until(() -> node.registry().instances("greeter").isEmpty()); // its stream ended: detached
    assertThat(node.registry().revision()).isEqualTo(before + 2); // the detach and the removal it brings, nothing else
  }

  @Test
  void updateBeforeRegister_failedPrecondition() {
    RawAgent agent = new RawAgent(channel).send(AgentMessage.newBuilder().setUpdate(Update.newBuilder().addInstances(instance("g1"))).build());
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.closedWith.get() != null);
    assertThat(agent.closedWith.get().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(node.registry().instances("greeter")).isEmpty();
  }

  @Test
  void agentAnsweringPings_staysRegisteredPastManyTimeouts() {
    RawAgent agent = new RawAgent(channel).register("agent-a", instance("g1"));
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.pings.get() >= 20); // 20 x 50ms, over six agent timeouts
    assertThat(node.registry().instances("greeter")).hasSize(1);
    assertThat(agent.closedWith.get()).isNull();
  }

  @Test
  void agentSilent_detachedAndItsInstancesRemovedWithinTimeoutPlusOneInterval() {
    RawAgent agent = new RawAgent(channel).register("agent-a", instance("g1"));
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.acks.size() == 1);
    agent.answerPings.set(false); // a frozen process: the connection stays open, nothing answers
    long start = System.nanoTime();
    await().atMost(Duration.ofSeconds(5)).until(() -> node.registry().instances("greeter").isEmpty());
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(AGENT_TIMEOUT.plus(HEARTBEAT).multipliedBy(2));
    assertThat(node.registry().state().agent("agent-a").orElseThrow().status()).isEqualTo(AgentStatus.DEAD);
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.closedWith.get() != null);
    assertThat(agent.closedWith.get().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void streamBroken_agentDetachedAtOnce() {
    RawAgent agent = new RawAgent(channel).register("agent-a", instance("g1"));
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.acks.size() == 1);
    agent.cancel();
    await().atMost(Duration.ofSeconds(5)).until(() -> node.registry().instances("greeter").isEmpty());
  }

  @Test
  void shutdownNoticeThenDeregister_drainingThenGone() {
    RawAgent agent = new RawAgent(channel).register("agent-a", instance("g1"));
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.acks.size() == 1);
    agent.send(AgentMessage.newBuilder().setShutdownNotice(ShutdownNotice.getDefaultInstance()).build());
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.acks.size() == 2);
    assertThat(node.registry().instances("greeter")).singleElement().satisfies(i -> assertThat(i.takesCalls()).isFalse());
    agent.send(AgentMessage.newBuilder().setDeregister(Deregister.getDefaultInstance()).build());
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.acks.size() == 3);
    assertThat(node.registry().instances("greeter")).isEmpty();
  }

  @Test
  void messageBeforeRegister_failedPrecondition() {
    RawAgent agent = new RawAgent(channel).send(AgentMessage.newBuilder().setPong(Pong.getDefaultInstance()).build());
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.closedWith.get() != null);
    assertThat(agent.closedWith.get().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(agent.closedWith.get().getDescription()).contains("must be register");
  }

  @Test
  void invalidPort_invalidArgumentNamingTheField_otherAgentsUnaffected() {
    RawAgent good = new RawAgent(channel).register("agent-good", instance("g1"));
    RawAgent bad = new RawAgent(channel).register("agent-bad", instance("g2").toBuilder().setPort(70000).build());
    await().atMost(Duration.ofSeconds(5)).until(() -> bad.closedWith.get() != null);
    assertThat(bad.closedWith.get().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(bad.closedWith.get().getDescription()).isEqualTo("register.instances[0].port must be in 1..65535, was 70000");
    await().atMost(Duration.ofSeconds(5)).until(() -> good.acks.size() == 1);
    assertThat(good.closedWith.get()).isNull();
    assertThat(node.registry().instances("greeter")).extracting(ServiceInstance::id).containsExactly("g1");
  }

  @Test
  void sameInstanceIdFromAnotherAgent_alreadyExists_firstAgentKeepsIt() {
    RawAgent first = new RawAgent(channel).register("agent-a", instance("g1"));
    await().atMost(Duration.ofSeconds(5)).until(() -> first.acks.size() == 1);
    RawAgent second = new RawAgent(channel).register("agent-b", instance("g1"));
    await().atMost(Duration.ofSeconds(5)).until(() -> second.closedWith.get() != null);
    assertThat(second.closedWith.get().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
    assertThat(second.closedWith.get().getDescription()).contains("greeter/g1", "agent 'agent-a'");
    assertThat(node.registry().state().instance("greeter", "g1").orElseThrow().agentId()).isEqualTo("agent-a");
  }

  @Test
  void reRegisterOnANewStream_noDuplicates_oldStreamEndsWithoutDetaching() {
    RawAgent first = new RawAgent(channel).register("agent-a", instance("g1"));
    await().atMost(Duration.ofSeconds(5)).until(() -> first.acks.size() == 1);
    RawAgent again = new RawAgent(channel).register("agent-a", instance("g1"));
    await().atMost(Duration.ofSeconds(5)).until(() -> again.acks.size() == 1 && first.closedWith.get() != null);
    assertThat(first.closedWith.get().getCode()).isEqualTo(Status.Code.ABORTED);
    assertThat(node.registry().instances("greeter")).hasSize(1);
    await().during(Duration.ofMillis(400)).atMost(Duration.ofSeconds(2)).until(() -> node.registry().instances("greeter").size() == 1);
  }

  @Test
  void garbageAfterRegister_endsTheStreamWithInvalidArgument_andDetachesTheAgent() {
    io.grpc.MethodDescriptor.Marshaller<byte[]> bytes = new io.grpc.MethodDescriptor.Marshaller<>() {
      @Override
      public java.io.InputStream stream(byte[] value) {
        return new java.io.ByteArrayInputStream(value);
      }

      @Override
      public byte[] parse(java.io.InputStream stream) {
        try {
          return stream.readAllBytes();
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }
    };
    var raw = io.linkbridge.grpc.v1.AgentServiceGrpc.getConnectMethod().toBuilder(bytes, bytes).build();
    java.util.concurrent.CompletableFuture<io.grpc.Status> closed = new java.util.concurrent.CompletableFuture<>();
    java.util.concurrent.atomic.AtomicInteger received = new java.util.concurrent.atomic.AtomicInteger();
    io.grpc.ClientCall<byte[], byte[]> call = channel.newCall(raw, io.grpc.CallOptions.DEFAULT);
    call.start(new io.grpc.ClientCall.Listener<>() {
      @Override
      public void onMessage(byte[] message) {
        received.incrementAndGet();
      }

      @Override
      public void onClose(io.grpc.Status status, io.grpc.Metadata trailers) {
        closed.complete(status);
      }
    }, new io.grpc.Metadata());
    call.request(Integer.MAX_VALUE);
    call.sendMessage(AgentMessage.newBuilder().setSequence(1).setRegister(io.linkbridge.grpc.v1.Register.newBuilder().setAgentId("agent-g")
        .addInstances(instance("g1"))).build().toByteArray());
    await().atMost(Duration.ofSeconds(5)).until(() -> node.registry().instances("greeter").size() == 1);
    call.sendMessage(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x07});

    io.grpc.Status status = closed.join();
    assertThat(status.getCode()).isEqualTo(io.grpc.Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).contains("linkbridge.v1.AgentService/Connect", "not a valid protobuf message");
    await().atMost(Duration.ofSeconds(5)).until(() -> node.registry().instances("greeter").isEmpty()); // detached: its only broker
  }
}
