package io.linkbridge.it.process;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.linkbridge.grpc.v1.AgentMessage;
import io.linkbridge.grpc.v1.AgentServiceGrpc;
import io.linkbridge.grpc.v1.BrokerMessage;
import io.linkbridge.grpc.v1.Instance;
import io.linkbridge.grpc.v1.Pong;
import io.linkbridge.grpc.v1.Register;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * An agent in its own JVM, speaking the raw agent protocol to one or two brokers, so tests can kill it
 * with SIGKILL or freeze it with SIGSTOP. Arguments: {@code agentId service instanceId host:port...}.
 * Prints {@code registered} once every broker acknowledged, then answers pings until killed.
 */
public final class RawAgentMain {
  public static void main(String[] args) throws Exception {
    String agentId = args[0];
    Instance instance = Instance.newBuilder().setService(args[1]).setId(args[2]).setHost("10.0.0.9").setPort(9000).build();
    CountDownLatch acked = new CountDownLatch(args.length - 3);
    for (int i = 3; i < args.length; i++) {
      String[] hp = args[i].split(":");
      ManagedChannel channel = NettyChannelBuilder.forAddress(hp[0], Integer.parseInt(hp[1])).usePlaintext().build();
      AtomicReference<StreamObserver<AgentMessage>> requests = new AtomicReference<>();
      requests.set(AgentServiceGrpc.newStub(channel).connect(new StreamObserver<>() {
        @Override
        public void onNext(BrokerMessage m) {
          if (m.hasAck()) {
            acked.countDown();
          } else if (m.hasPing()) {
            synchronized (requests) {
              requests.get().onNext(AgentMessage.newBuilder().setPong(Pong.newBuilder().setSequence(m.getPing().getSequence())).build());
            }
          }
        }

        @Override
        public void onError(Throwable t) {
          System.err.println("stream to " + channel + " failed: " + t);
        }

        @Override
        public void onCompleted() {}
      }));
      synchronized (requests) {
        requests.get().onNext(AgentMessage.newBuilder().setRegister(Register.newBuilder().setAgentId(agentId).addInstances(instance)).build());
      }
    }
    acked.await();
    System.out.println("registered");
    System.out.flush();
    new CountDownLatch(1).await(); // serve pings until killed
  }
}
