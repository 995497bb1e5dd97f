package io.linkbridge.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The README's demo runs in CI: it must finish by itself and report success. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DemoTest {
  @TempDir Path dir;

  @Test
  void demo_endsByItselfAndReportsSuccess() throws Exception {
    assertThat(Demo.runIn(dir)).isTrue();
  }
}
