package io.linkbridge.internal.liveness;

import static org.assertj.core.api.Assertions.assertThat;

import io.linkbridge.spi.AgentHeartbeats;
import io.linkbridge.testing.FakeClock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** When the broker gives up on an agent, on a fake clock: after the timeout of silence, never for its own stall. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class AgentLivenessTest {
  static final Duration TIMEOUT = Duration.ofMillis(400);
  static final Duration BEAT = Duration.ofMillis(100);

  private final FakeClock clock = new FakeClock();
  private final StallDetector stalls = new StallDetector("b1", clock, StallDetector.thresholdFor(TIMEOUT));
  private final AgentLiveness liveness = new AgentLiveness("b1", stalls, TIMEOUT);
  private final AtomicInteger pings = new AtomicInteger();
  private final List<String> timeouts = new CopyOnWriteArrayList<>();
  private final AgentHeartbeats.Heartbeat agent = liveness.watch("a1", pings::incrementAndGet, timeouts::add);

  /** Runs the broker for {@code d}: the stall ticker every 10 ms, the liveness check every beat; the agent answers if {@code answering}. */
  private void runFor(Duration d, boolean answering) {
    for (long t = 10; t <= d.toMillis(); t += 10) {
      clock.advance(Duration.ofMillis(10));
      stalls.tick();
      if (t % BEAT.toMillis() == 0) {
        liveness.check();
        if (answering) {
          agent.answered();
        }
      }
    }
  }

  @Test
  void anAgentThatAnswers_isPingedEveryBeat_andKept() {
    runFor(Duration.ofSeconds(2), true);
    assertThat(pings.get()).isEqualTo(20);
    assertThat(timeouts).isEmpty();
  }

  @Test
  void anAgentSilentForTheTimeout_isGivenUpOnce_namingTheSilence_andPingedNoMore() {
    runFor(Duration.ofMillis(500), true);
    runFor(TIMEOUT, false);
    assertThat(timeouts).isEmpty();
    runFor(BEAT.multipliedBy(2), false);
    assertThat(timeouts).singleElement().satisfies(why -> assertThat(why).startsWith("no pong for ").endsWith("(agent timeout 400 ms)"));
    int pinged = pings.get();
    runFor(Duration.ofSeconds(1), false);
    assertThat(pings.get()).isEqualTo(pinged);
    assertThat(timeouts).hasSize(1);
  }

  @Test
  void theBrokerStalls_theAgentIsNotBlamed_andGetsAFullTimeoutAfterwards() {
    runFor(Duration.ofMillis(500), true);
    clock.advance(Duration.ofSeconds(3)); // SIGSTOP of the broker: no tick, no pong read
    liveness.check(); // the first thing after SIGCONT
    assertThat(timeouts).isEmpty();
    runFor(TIMEOUT.minus(BEAT), false);
    assertThat(timeouts).isEmpty();
    runFor(BEAT.multipliedBy(3), false);
    assertThat(timeouts).hasSize(1);
  }

  @Test
  void stopped_isPingedNoMore() {
    agent.stop();
    runFor(Duration.ofSeconds(1), false);
    assertThat(pings.get()).isZero();
    assertThat(timeouts).isEmpty();
  }
}
