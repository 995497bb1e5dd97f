package io.linkbridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class FailoverConfigTest {
  @Test
  void defaultCap_isFiveSeconds_orTheRetryIntervalIfLonger() {
    assertThat(FailoverConfig.DEFAULT.maxRetryInterval()).isEqualTo(Duration.ofSeconds(5));
    assertThat(FailoverConfig.builder().retryInterval(Duration.ofSeconds(8)).build().maxRetryInterval()).isEqualTo(Duration.ofSeconds(8));
  }

  @Test
  void capShorterThanTheRetryInterval_refusedNamingBoth() {
    assertThatThrownBy(() -> FailoverConfig.builder().retryInterval(Duration.ofSeconds(2)).maxRetryInterval(Duration.ofSeconds(1)).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessage("maxRetryInterval must be at least retryInterval (2s), was 1s");
  }

  @Test
  void capBelowTenMilliseconds_refusedAtOnce() {
    assertThatThrownBy(() -> FailoverConfig.builder().maxRetryInterval(Duration.ofMillis(5))).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxRetryInterval must be at least 10ms, was 5ms");
  }

  @Test
  void watchProgressInterval_outsideItsRange_refusedAtOnce() {
    assertThatThrownBy(() -> LinkBridge.client().watchProgressInterval(Duration.ofMillis(50))).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("watchProgressInterval must be in 100ms..10m, was 50ms");
  }

  @Test
  void agentMaxRetryIntervalShorterThanItsRetryInterval_refusedAtStart() {
    assertThatThrownBy(() -> LinkBridge.agent().id("a").brokers("127.0.0.1:1").retryInterval(Duration.ofSeconds(2))
        .maxRetryInterval(Duration.ofSeconds(1)).start()).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("maxRetryInterval (1s) must be at least retryInterval (2s)");
  }
}
