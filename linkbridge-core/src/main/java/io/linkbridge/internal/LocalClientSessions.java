package io.linkbridge.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import io.linkbridge.spi.ClientSessions;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Client sessions in a Caffeine cache: a session expires after {@code clientTimeout} without a call
 * unless it holds an open stream; at most {@code maxClients} sessions, a new client beyond that is
 * refused while existing ones go on. Local to the broker, never replicated. Thread-safe.
 */
public final class LocalClientSessions implements ClientSessions {
  private final int maxClients;
  private final Duration clientTimeout;
  private final Cache<String, AtomicInteger> sessions; // value: open streams

  public LocalClientSessions(int maxClients, Duration clientTimeout) {
    this(maxClients, clientTimeout, Ticker.systemTicker());
  }

  LocalClientSessions(int maxClients, Duration clientTimeout, Ticker ticker) {
    this.maxClients = maxClients;
    this.clientTimeout = clientTimeout;
    this.sessions = Caffeine.newBuilder().expireAfter(new com.github.benmanes.caffeine.cache.Expiry<String, AtomicInteger>() {
      @Override
      public long expireAfterCreate(String key, AtomicInteger streams, long currentTime) {
        return clientTimeout.toNanos();
      }

      @Override
      public long expireAfterUpdate(String key, AtomicInteger streams, long currentTime, long currentDuration) {
        return streams.get() > 0 ? Long.MAX_VALUE : clientTimeout.toNanos();
      }

      @Override
      public long expireAfterRead(String key, AtomicInteger streams, long currentTime, long currentDuration) {
        return streams.get() > 0 ? Long.MAX_VALUE : clientTimeout.toNanos();
      }
    }).ticker(ticker).executor(Runnable::run).build(); // maintenance on the caller: count() and admit() see every expiry at once
  }

  @Override
  public synchronized Optional<String> admit(String clientId) {
    if (sessions.getIfPresent(clientId) != null) {
      return Optional.empty();
    }
    sessions.cleanUp();
    if (sessions.estimatedSize() >= maxClients) {
      return Optional.of("this broker serves its maximum of " + maxClients + " clients (local.maxClients); connect to another broker");
    }
    sessions.put(clientId, new AtomicInteger());
    return Optional.empty();
  }

  /**
   * Called right after {@link #admit}; under the same lock, so a session that expired in between is
   * opened again as the admission just allowed, and counted.
   */
  @Override
  public synchronized void streamOpened(String clientId) {
    // a new value object each time: Caffeine re-evaluates the expiry of an update only when the value changes
    sessions.asMap().compute(clientId, (id, streams) -> new AtomicInteger(streams == null ? 1 : streams.get() + 1));
  }

  @Override
  public void streamClosed(String clientId) {
    // expires after clientTimeout once the last stream closed, not before
    sessions.asMap().computeIfPresent(clientId, (id, streams) -> new AtomicInteger(Math.max(0, streams.get() - 1)));
  }

  @Override
  public long count() {
    sessions.cleanUp();
    return sessions.estimatedSize();
  }

  @Override
  public String toString() {
    return "LocalClientSessions{max=" + maxClients + ", timeout=" + clientTimeout + ", open=" + count() + "}";
  }
}
