package io.linkbridge.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class BackoffTest {
  private static long ms(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }

  @Test
  void waitsDoubleFromTheInitialUpToTheCap_withoutJitter() {
    Backoff b = new Backoff(Duration.ofMillis(100), Duration.ofMillis(500), () -> 0);
    assertThat(new long[] {ms(b.nextDelayNanos()), ms(b.nextDelayNanos()), ms(b.nextDelayNanos()), ms(b.nextDelayNanos())})
        .containsExactly(100, 200, 400, 500);
    b.reset();
    assertThat(ms(b.nextDelayNanos())).isEqualTo(100);
  }

  @Test
  void jitterShortensAWaitByAtMostTwentyPercent_neverBeyondTheCap() {
    Backoff most = new Backoff(Duration.ofMillis(1000), Duration.ofMillis(1000), () -> 0.999999);
    assertThat(ms(most.nextDelayNanos())).isBetween(800L, 801L);
    Backoff real = new Backoff(Duration.ofMillis(1000), Duration.ofMillis(1000));
    for (int i = 0; i < 100; i++) {
      assertThat(ms(real.nextDelayNanos())).isBetween(800L, 1000L);
    }
  }

  @Test
  void clientsThatFailTogether_doNotRetryInLockStep() {
    Set<Long> firstWaits = new HashSet<>();
    for (int i = 0; i < 50; i++) {
      firstWaits.add(new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(5)).nextDelayNanos());
    }
    assertThat(firstWaits).hasSizeGreaterThan(40);
  }

  @Test
  void capBelowTheInitialWait_refused() {
    assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0 < initial <= max");
  }
}
