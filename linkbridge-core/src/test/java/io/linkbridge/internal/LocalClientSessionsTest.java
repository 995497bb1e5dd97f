package io.linkbridge.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class LocalClientSessionsTest {
  private final AtomicLong now = new AtomicLong();
  private final Ticker ticker = now::get;
  private final LocalClientSessions sessions = new LocalClientSessions(2, Duration.ofSeconds(10), ticker);

  private void advance(Duration d) {
    now.addAndGet(d.toNanos());
  }

  @Test
  void beyondMaxClients_newClientRefusedNamingTheLimit_existingOnesAdmitted() {
    assertThat(sessions.admit("a")).isEmpty();
    assertThat(sessions.admit("b")).isEmpty();
    assertThat(sessions.admit("c")).hasValueSatisfying(m -> assertThat(m).contains("maximum of 2 clients", "local.maxClients"));
    assertThat(sessions.admit("a")).isEmpty();
    assertThat(sessions.count()).isEqualTo(2);
  }

  @Test
  void idleSession_expiresAfterClientTimeout_freeingItsPlace() {
    sessions.admit("a");
    sessions.admit("b");
    advance(Duration.ofSeconds(6));
    sessions.admit("a"); // a call refreshes a
    advance(Duration.ofSeconds(6));
    assertThat(sessions.count()).isEqualTo(1);
    assertThat(sessions.admit("c")).isEmpty();
  }

  @Test
  void sessionWithAnOpenStream_neverExpires_thenExpiresOnceClosed() {
    sessions.admit("a");
    sessions.streamOpened("a");
    advance(Duration.ofMinutes(5));
    assertThat(sessions.count()).isEqualTo(1);
    sessions.streamClosed("a");
    advance(Duration.ofSeconds(11));
    assertThat(sessions.count()).isZero();
  }

  @Test
  void closingOneOfTwoStreams_keepsTheSessionWhileTheOtherIsOpen() {
    sessions.admit("a");
    sessions.streamOpened("a");
    sessions.streamOpened("a");
    sessions.streamClosed("a");
    advance(Duration.ofMinutes(5));
    assertThat(sessions.count()).isEqualTo(1);
    sessions.streamClosed("a");
    advance(Duration.ofSeconds(11));
    assertThat(sessions.count()).isZero();
  }

  @Test
  void streamClosedOfAnExpiredSession_createsNothing() {
    sessions.admit("a");
    advance(Duration.ofSeconds(11));
    sessions.streamClosed("a");
    assertThat(sessions.count()).isZero();
  }
}
