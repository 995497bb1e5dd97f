package io.linkbridge.internal.consistency;

import io.linkbridge.Registry;
import io.linkbridge.internal.RegistryWrites;
import io.linkbridge.internal.registry.ConsistencyListener;
import io.linkbridge.internal.registry.RegistryCommand;
import io.linkbridge.registry.ClusterState;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd-style corruption check: brokers compare their replicas at a common revision. A
 * {@link RegistryCommand.ChecksumMark} in the log is that common point (the leader proposes one every
 * check interval; a broker that has just caught up proposes one); at it, every broker takes the
 * checksum of its state and reports it through the log ({@link RegistryCommand.ChecksumReport}). Once
 * a majority of the members reported the same checksum for a revision, a broker whose own checksum
 * differs is the odd one: it raises the alarm (ERROR log, a metric, and {@code onDiverged}: the broker
 * stops serving). Deterministic in what it compares, since marks and reports are log entries;
 * nothing of it changes the registry.
 *
 * <p>Threading: the listener methods run on the apply thread and only hand over; checksums are taken
 * and compared on {@code worker} ({@code linkbridge-consistency-<broker>}).
 */
public final class ReplicaConsistencyCheck implements ConsistencyListener {
  private static final Logger log = LoggerFactory.getLogger(ReplicaConsistencyCheck.class);
  private static final int MARKS_KEPT = 16;

  private final String brokerId;
  private final Registry registry;
  private final RegistryWrites writes;
  private final IntSupplier members;
  private final BooleanSupplier caughtUp;
  private final ExecutorService worker;
  private final Consumer<String> onDiverged;
  /** Per mark, oldest first: this broker's report, the reports applied, whether it was decided. Worker thread only. */
  private final LinkedHashMap<String, Mark> marks = new LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Mark> eldest) {
      return size() > MARKS_KEPT;
    }
  };
  private final AtomicLong sequence = new AtomicLong();
  private final AtomicLong checks = new AtomicLong();
  private final AtomicLong mismatches = new AtomicLong();

  /**
   * @param caughtUp whether this broker has caught up: marks replayed at start (and reports on them)
   *     are history, not checks, and are ignored
   */
  public ReplicaConsistencyCheck(String brokerId, Registry registry, RegistryWrites writes, IntSupplier members, BooleanSupplier caughtUp,
      ExecutorService worker, Consumer<String> onDiverged) {
    this.brokerId = brokerId;
    this.registry = registry;
    this.writes = writes;
    this.members = members;
    this.caughtUp = caughtUp;
    this.worker = worker;
    this.onDiverged = onDiverged;
  }

  private static final class Mark {
    RegistryCommand.ChecksumReport own;
    final Map<String, RegistryCommand.ChecksumReport> reports = new HashMap<>();
    boolean decided;
    boolean warned;
  }

  /** Proposes a mark; every broker checks at it. */
  public void mark() {
    writes.submit(new RegistryCommand.ChecksumMark(brokerId + "/" + System.currentTimeMillis() + "/" + sequence.incrementAndGet())).whenComplete((r, e) -> {
      if (e != null) {
        log.debug("Broker {}: checksum mark not committed ({}); the next one follows", brokerId, e.toString());
      }
    });
  }

  /** How many revisions this broker compared with a majority, and how many of them differed. */
  public long checks() {
    return checks.get();
  }

  public long mismatches() {
    return mismatches.get();
  }

  @Override
  public void markApplied(String markId, ClusterState state) {
    if (!caughtUp.getAsBoolean()) {
      return;
    }
    run(() -> {
      RegistryCommand.ChecksumReport mine = new RegistryCommand.ChecksumReport(markId, brokerId, state.revision(), state.checksum());
      marks.computeIfAbsent(markId, id -> new Mark()).own = mine;
      writes.submit(mine).whenComplete((r, e) -> {
        if (e != null) {
          log.debug("Broker {}: checksum report on mark {} not committed ({})", brokerId, markId, e.toString());
        }
      });
      compare(markId);
    });
  }

  @Override
  public void reportApplied(RegistryCommand.ChecksumReport report) {
    run(() -> {
      Mark mark = marks.get(report.markId());
      if (mark != null) { // a mark this broker checked at; others are history
        mark.reports.put(report.brokerId(), report);
        compare(report.markId());
      }
    });
  }

  private void run(Runnable task) {
    try {
      worker.execute(task);
    } catch (RejectedExecutionException e) {
      // shutting down
    }
  }

  private void compare(String markId) {
    Mark mark = marks.get(markId);
    if (mark == null || mark.own == null || mark.decided) {
      return;
    }
    int majority = members.getAsInt() / 2 + 1;
    Map<Long, Integer> votes = new HashMap<>();
    mark.reports.values().forEach(r -> votes.merge(r.checksum(), 1, Integer::sum));
    Long agreed = votes.entrySet().stream().filter(v -> v.getValue() >= majority).map(Map.Entry::getKey).findFirst().orElse(null);
    if (votes.size() > 1 && !mark.warned) { // said at once, even while no majority agrees (a broker down, three different values)
      mark.warned = true;
      log.error("Broker {}: the replicas disagree at checksum mark {}: {}", brokerId, markId, describe(mark));
    }
    if (agreed == null) {
      return; // no majority agrees (yet): this broker cannot tell which replica is right
    }
    mark.decided = true;
    checks.incrementAndGet();
    if (agreed != mark.own.checksum()) {
      mismatches.incrementAndGet();
      String why = "broker " + brokerId + " diverged from the cluster: at checksum mark " + markId + " its registry (revision "
          + mark.own.revision() + ") has checksum " + Long.toHexString(mark.own.checksum()) + ", a majority of the brokers have "
          + Long.toHexString(agreed) + " (" + describe(mark) + "); this replica is not served and is marked damaged. Restart this broker with"
          + " discardDamagedState(true): it moves this replica aside and catches up from the others";
      log.error("{}", why);
      onDiverged.accept(why);
    }
  }

  private static String describe(Mark mark) {
    return mark.reports.values().stream().map(r -> r.brokerId() + "@" + r.revision() + "=" + Long.toHexString(r.checksum())).sorted().toList()
        .toString();
  }
}
