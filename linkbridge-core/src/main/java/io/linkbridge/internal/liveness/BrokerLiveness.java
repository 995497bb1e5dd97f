package io.linkbridge.internal.liveness;

import io.linkbridge.AgentInfo;
import io.linkbridge.Registry;
import io.linkbridge.internal.RegistryWrites;
import io.linkbridge.internal.registry.RegistryCommand;
import io.linkbridge.spi.ConsensusEngine;
import io.linkbridge.spi.MemberStatus;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a broker's silence becomes a Raft command: on the leader, detaches every agent of a broker
 * that has not answered for longer than the agent timeout, so a crashed broker cannot keep its agents
 * alive in the registry. Agents attached to another broker as well stay alive; the others become DEAD.
 * A broker that comes back re-attaches the agents it still holds.
 *
 * <p>A broker is judged crashed only when all of this holds:
 * <ul>
 *   <li>this member leads, and has led in the current term for the whole window (a new term or a
 *       leadership change starts the window again, and a member this leader has not heard from yet
 *       counts as silent since the window began, never longer);
 *   <li>this process has not stalled during the window ({@link StallDetector}): a leader that was
 *       frozen has not seen anybody, and says nothing about them;
 *   <li>this leader hears from a majority of the members (itself included) within the agent
 *       timeout: a leader cut off from the others is the odd one out, not them.
 * </ul>
 * The {@link RegistryCommand.DetachBroker} carries the term of the decision, and the state machine
 * refuses it in any other term, so a deposed leader's decision never takes effect.
 *
 * <p>{@link #check()} runs on one thread ({@code linkbridge-broker-liveness-<broker>}), every tenth
 * of the agent timeout (10..500 ms); its window fields are that thread's alone. Not for concurrent {@code check()}s.
 */
public final class BrokerLiveness {
  private static final Logger log = LoggerFactory.getLogger(BrokerLiveness.class);

  private final String brokerId;
  private final ConsensusEngine engine;
  private final Registry registry;
  private final RegistryWrites writes;
  private final StallDetector stalls;
  private final long timeoutNanos;
  private long windowTerm = -1;
  private long windowStart;
  /** Brokers cleaned up during their current silence; also changed by commit callbacks, hence concurrent. */
  private final Set<String> detached = ConcurrentHashMap.newKeySet();

  public BrokerLiveness(String brokerId, ConsensusEngine engine, Registry registry, RegistryWrites writes, StallDetector stalls,
      Duration agentTimeout) {
    this.brokerId = brokerId;
    this.engine = engine;
    this.registry = registry;
    this.writes = writes;
    this.stalls = stalls;
    this.timeoutNanos = agentTimeout.toNanos();
  }

  /** One check; see the class comment. */
  public void check() {
    if (!engine.isLeader()) {
      windowTerm = -1;
      detached.clear();
      return;
    }
    // The readings first, the stall check after them: a stall that lands in between is then seen
    // and this round judges nobody, instead of counting the stall in a member's silence.
    long now = stalls.nanoTime();
    long term = engine.term();
    List<MemberStatus> members = engine.members();
    long stallEnd = stalls.lastStallEnd();
    if (term != windowTerm) {
      windowTerm = term;
      windowStart = now;
      detached.clear();
    }
    if (stallEnd >= now) {
      windowStart = stallEnd;
      return;
    }
    windowStart = Math.max(windowStart, stallEnd);
    long window = now - windowStart;
    int heard = 0;
    Map<String, Long> silent = new HashMap<>(); // id -> nanos
    for (MemberStatus m : members) {
      if (m.local()) {
        heard++;
        continue;
      }
      long silence = m.millisSinceContact() < 0 ? window : Math.min(TimeUnit.MILLISECONDS.toNanos(m.millisSinceContact()), window);
      if (silence > timeoutNanos) {
        silent.put(m.id(), silence);
      } else {
        heard++;
        detached.remove(m.id());
      }
    }
    if (silent.isEmpty()) {
      return;
    }
    if (heard <= members.size() / 2) {
      log.debug("Broker {} leads term {} but hears from {} of {} members: it judges nobody", brokerId, term, heard, members.size());
      return;
    }
    for (String id : silent.keySet()) {
      boolean holdsAgents = registry.agents().stream().map(AgentInfo::brokers).anyMatch(b -> b.contains(id));
      if (holdsAgents && detached.add(id)) {
        log.warn("Broker {} (leader, term {}): broker {} has not answered for {} ms (agent timeout {} ms); detaching its agents", brokerId, term,
            id, TimeUnit.NANOSECONDS.toMillis(silent.get(id)), TimeUnit.NANOSECONDS.toMillis(timeoutNanos));
        writes.submit(new RegistryCommand.DetachBroker(id, term)).whenComplete((r, e) -> {
          if (e != null) {
            detached.remove(id);
          }
        });
      }
    }
  }
}
