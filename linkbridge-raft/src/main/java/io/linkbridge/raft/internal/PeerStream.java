package io.linkbridge.raft.internal;

import io.atomix.cluster.MemberId;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one long-lived stream to a peer that carries every request to it: a message costs a frame
 * on an open HTTP/2 stream instead of a call with headers and a deadline. A broken stream fails
 * its pending requests with {@link ConnectException} and is replaced on the next send; a request
 * whose handler failed on the peer fails with {@link RemoteRaftFailure}.
 */
final class PeerStream {
  private static final Logger log = LoggerFactory.getLogger(PeerStream.class);
  private final MemberId local;
  private final String clusterId;
  private final RateLimitedLog refusals;
  private final MemberId peer;
  private final AtomicLong nextId;
  private final ScheduledExecutorService timeouts;
  private final Map<Long, CompletableFuture<byte[]>> pending = new ConcurrentHashMap<>();
  private final StreamObserver<byte[]> requests;
  private volatile boolean broken;

  PeerStream(MemberId local, String clusterId, MemberId peer, ManagedChannel channel, AtomicLong nextId, ScheduledExecutorService timeouts,
      RateLimitedLog refusals) {
    this.local = local;
    this.clusterId = clusterId;
    this.refusals = refusals;
    this.peer = peer;
    this.nextId = nextId;
    this.timeouts = timeouts;
    this.requests = ClientCalls.asyncBidiStreamingCall(channel.newCall(RaftFrames.EXCHANGE, CallOptions.DEFAULT), new StreamObserver<>() {
      @Override
      public void onNext(byte[] frame) {
        reply(frame);
      }

      @Override
      public void onError(Throwable t) {
        fail(t);
      }

      @Override
      public void onCompleted() {
        fail(Status.UNAVAILABLE.withDescription("stream closed by " + peer).asRuntimeException());
      }
    });
  }

  CompletableFuture<byte[]> request(String subject, byte[] payload, Duration timeout) {
    long id = nextId.incrementAndGet();
    CompletableFuture<byte[]> result = new CompletableFuture<>();
    pending.put(id, result);
    ScheduledFuture<?> timer = timeouts.schedule(() -> {
      if (pending.remove(id) != null) {
        result.completeExceptionally(new TimeoutException(subject + " to " + peer + ": no reply within " + timeout.toMillis() + "ms"));
      }
    }, timeout.toMillis(), TimeUnit.MILLISECONDS);
    result.whenComplete((r, e) -> timer.cancel(false));
    try {
      synchronized (this) {
        requests.onNext(RaftFrames.request(id, clusterId, subject, local.id(), payload));
      }
    } catch (RuntimeException e) {
      pending.remove(id);
      result.completeExceptionally(RaftFrames.translate(e, subject, peer));
    }
    if (broken && pending.remove(id) != null) {
      result.completeExceptionally(new ConnectException(subject + " to " + peer + ": stream broken"));
    }
    return result;
  }

  private void reply(byte[] frame) {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(frame))) {
      byte type = in.readByte();
      CompletableFuture<byte[]> f = pending.remove(in.readLong());
      if (f == null) {
        return; // timed out already
      }
      byte[] body = in.readAllBytes();
      if (type == RaftFrames.REPLY) {
        f.complete(body);
      } else if (type == RaftFrames.REFUSED) {
        String reason = new String(body, StandardCharsets.UTF_8);
        refusals.warn(peer + ":" + reason, () -> log.warn("Broker {}: member {} refused our Raft messages: {}", local.id(), peer, reason));
        f.completeExceptionally(new ConnectException("refused by " + peer + ": " + reason));
      } else if (type == RaftFrames.NO_HANDLER) {
        f.completeExceptionally(new ConnectException("request to " + peer + " not handled there yet: " + new String(body, StandardCharsets.UTF_8)));
      } else { // ERROR: the peer is reachable and its handler failed; not a connection problem
        f.completeExceptionally(new RemoteRaftFailure("request to " + peer + " failed there: " + new String(body, StandardCharsets.UTF_8)));
      }
    } catch (IOException e) {
      fail(e);
    }
  }

  private void fail(Throwable t) {
    broken = true;
    for (Long id : List.copyOf(pending.keySet())) {
      CompletableFuture<byte[]> f = pending.remove(id);
      if (f != null) {
        f.completeExceptionally(RaftFrames.translate(t, "request", peer));
      }
    }
  }

  boolean isBroken() {
    return broken;
  }

  void close() {
    broken = true;
    try {
      synchronized (this) {
        requests.onCompleted();
      }
    } catch (RuntimeException e) {
      // already closed
    }
    fail(Status.UNAVAILABLE.withDescription("transport stopped").asRuntimeException());
  }
}
