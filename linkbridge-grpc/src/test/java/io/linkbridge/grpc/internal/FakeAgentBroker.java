package io.linkbridge.grpc.internal;

import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.linkbridge.grpc.v1.Ack;
import io.linkbridge.grpc.v1.AgentMessage;
import io.linkbridge.grpc.v1.AgentServiceGrpc;
import io.linkbridge.grpc.v1.BrokerLeaving;
import io.linkbridge.grpc.v1.BrokerMessage;
import io.linkbridge.grpc.v1.Ping;
import io.linkbridge.testing.FreePorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A broker's agent API that a test scripts: acks what {@link #answer} says, pings every
 * {@code pingMillis} while {@link #pinging}, and writes what happens on its streams to a log shared
 * by several fake brokers ("B1 register", "B1 end"), so a test can check the order across brokers.
 */
final class FakeAgentBroker implements AutoCloseable {
  /** One agent stream. */
  final class Stream {
    private final ServerCallStreamObserver<BrokerMessage> out;
    volatile boolean ended;

    Stream(ServerCallStreamObserver<BrokerMessage> out) {
      this.out = out;
    }

    synchronized void send(BrokerMessage m) {
      if (!ended) {
        out.onNext(m);
      }
    }

    synchronized void fail(Status status) {
      if (!ended) {
        ended = true;
        out.onError(status.asRuntimeException());
        log.add(name + " end");
      }
    }
  }

  final String name;
  final int port = FreePorts.next();
  final List<String> log;
  final List<Stream> streams = new CopyOnWriteArrayList<>();
  volatile boolean pinging = true;
  /** The answer to a message with a sequence: an Ack by default; null sends nothing; a status ends the stream. */
  volatile Function<AgentMessage, Object> answer = m -> "ack";
  private final Server server;
  private final ScheduledExecutorService pings = Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "fake-broker-pings"));

  FakeAgentBroker(String name, List<String> log, long pingMillis) {
    this.name = name;
    this.log = log;
    try {
      server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)).addService(new AgentServiceGrpc.AgentServiceImplBase() {
        @Override
        public StreamObserver<AgentMessage> connect(StreamObserver<BrokerMessage> responseObserver) {
          Stream s = new Stream((ServerCallStreamObserver<BrokerMessage>) responseObserver);
          ((ServerCallStreamObserver<BrokerMessage>) responseObserver).setOnCancelHandler(() -> ended(s));
          streams.add(s);
          return new StreamObserver<>() {
            @Override
            public void onNext(AgentMessage m) {
              if (m.hasPong()) {
                return;
              }
              log.add(name + " " + m.getKindCase().name().toLowerCase());
              Object a = answer.apply(m);
              if (a instanceof Status status) {
                s.fail(status);
              } else if (a != null && m.getSequence() != 0) {
                s.send(BrokerMessage.newBuilder().setAck(Ack.newBuilder().setSequence(m.getSequence()).setRevision(1)).build());
              }
            }

            @Override
            public void onError(Throwable t) {
              ended(s);
            }

            @Override
            public void onCompleted() {
              ended(s);
              s.out.onCompleted();
            }
          };
        }
      }).build().start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    pings.scheduleAtFixedRate(() -> {
      if (pinging) {
        streams.forEach(s -> s.send(BrokerMessage.newBuilder().setPing(Ping.newBuilder().setSequence(1).setIntervalMillis(pingMillis)).build()));
      }
    }, pingMillis, pingMillis, TimeUnit.MILLISECONDS);
  }

  private void ended(Stream s) {
    synchronized (s) {
      if (!s.ended) {
        s.ended = true;
        log.add(name + " end");
      }
    }
  }

  String address() {
    return "127.0.0.1:" + port;
  }

  long open() {
    return streams.stream().filter(s -> !s.ended).count();
  }

  void sendLeaving(String... others) {
    streams.forEach(s -> s.send(BrokerMessage.newBuilder().setBrokerLeaving(BrokerLeaving.newBuilder().addAllBrokers(List.of(others))
        .setGracePeriodMillis(5000)).build()));
  }

  @Override
  public void close() {
    pings.shutdownNow();
    server.shutdownNow();
  }
}
