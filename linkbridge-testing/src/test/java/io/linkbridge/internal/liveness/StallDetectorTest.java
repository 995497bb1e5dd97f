package io.linkbridge.internal.liveness;

import static org.assertj.core.api.Assertions.assertThat;

import io.linkbridge.testing.FakeClock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class StallDetectorTest {
  private final FakeClock clock = new FakeClock();
  private final StallDetector stalls = new StallDetector("b1", clock, Duration.ofMillis(100));

  private void runFor(Duration d) {
    for (long t = 0; t < d.toMillis(); t += 10) {
      clock.advance(Duration.ofMillis(10));
      stalls.tick();
    }
  }

  @Test
  void runningSteadily_silenceIsTheTimeSinceLastHeard() {
    long heard = clock.nanoTime();
    runFor(Duration.ofMillis(500));
    assertThat(Duration.ofNanos(stalls.silentNanos(heard))).isEqualTo(Duration.ofMillis(500));
  }

  @Test
  void afterAStall_silenceCountsOnlyFromItsEnd() {
    long heard = clock.nanoTime();
    runFor(Duration.ofMillis(200));
    clock.advance(Duration.ofMillis(2000)); // SIGSTOP: no tick
    stalls.tick();
    runFor(Duration.ofMillis(50));
    assertThat(Duration.ofNanos(stalls.silentNanos(heard))).isEqualTo(Duration.ofMillis(50));
  }

  @Test
  void aReaderBeforeTheTickerResumes_seesTheStallAtOnce() {
    long heard = clock.nanoTime();
    runFor(Duration.ofMillis(200));
    clock.advance(Duration.ofMillis(2000)); // resumed, but the ticker has not run yet
    assertThat(stalls.silentNanos(heard)).isZero();
    clock.advance(Duration.ofMillis(30)); // still no tick: the process is not running normally yet
    assertThat(stalls.silentNanos(heard)).isZero();
  }

  @Test
  void aGapBelowTheThreshold_isNotAStall() {
    long heard = clock.nanoTime();
    clock.advance(Duration.ofMillis(90));
    stalls.tick();
    assertThat(Duration.ofNanos(stalls.silentNanos(heard))).isEqualTo(Duration.ofMillis(90));
  }

  @Test
  void threshold_isAQuarterOfTheAgentTimeout_within20msAnd1s() {
    assertThat(StallDetector.thresholdFor(Duration.ofMillis(300))).isEqualTo(Duration.ofMillis(75));
    assertThat(StallDetector.thresholdFor(Duration.ofMillis(40))).isEqualTo(Duration.ofMillis(20));
    assertThat(StallDetector.thresholdFor(Duration.ofSeconds(30))).isEqualTo(Duration.ofSeconds(1));
  }
}
