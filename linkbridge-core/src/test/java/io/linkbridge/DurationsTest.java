package io.linkbridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 5, unit = TimeUnit.SECONDS)
class DurationsTest {

  @Test
  void parse_everyUnit() {
    assertThat(Durations.parse("k", "500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Durations.parse("k", "5s")).isEqualTo(Duration.ofSeconds(5));
    assertThat(Durations.parse("k", "2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(Durations.parse("k", "1h")).isEqualTo(Duration.ofHours(1));
    assertThat(Durations.parse("k", "3d")).isEqualTo(Duration.ofDays(3));
  }

  @Test
  void parse_aValueTooLargeForADuration_isAnIllegalArgumentNamingKeyValueAndRange() {
    assertThatThrownBy(() -> Durations.parse("shutdown.gracePeriod", "9999999999999999d"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("shutdown.gracePeriod").hasMessageContaining("9999999999999999d").hasMessageContaining("at most");
  }

  @Test
  void parse_digitsBeyondALong_isAnIllegalArgumentNamingKeyAndValue() {
    assertThatThrownBy(() -> Durations.parse("k", "99999999999999999999999ms"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("k").hasMessageContaining("99999999999999999999999ms");
  }

  @Test
  void parse_notADuration_namesTheForms() {
    assertThatThrownBy(() -> Durations.parse("k", "5 sec")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("500ms, 5s");
  }
}
