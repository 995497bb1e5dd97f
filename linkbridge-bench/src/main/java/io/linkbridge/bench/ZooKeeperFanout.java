package io.linkbridge.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;

/**
 * The same 3-server ZooKeeper ensemble as {@link ZooKeeperTarget}; each watcher is its own client
 * session (ZooKeeper delivers one event per session and path) holding a data watch on one znode,
 * re-armed after every event. The sessions are spread over the servers. One announcement is a
 * {@code setData} of that znode; the watcher counts the event when its callback runs.
 */
final class ZooKeeperFanout implements FanoutTarget {
  private static final String NODE = "/services/notice";

  private final ZooKeeperTarget cluster = new ZooKeeperTarget();
  private final List<ZooKeeper> sessions = new ArrayList<>();
  private final AtomicInteger armed = new AtomicInteger();
  private volatile String current;
  private EventSink sink;
  private int watchers;

  @Override
  public String name() {
    return "zookeeper";
  }

  @Override
  public String announcement() {
    return "setData of the watched znode -> NodeDataChanged";
  }

  @Override
  public void start(Path dir, int watchers, EventSink sink) throws Exception {
    this.sink = sink;
    this.watchers = watchers;
    cluster.start(dir);
    cluster.session(0).create(NODE, new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
    for (int w = 0; w < watchers; w++) {
      CountDownLatch connected = new CountDownLatch(1);
      ZooKeeper zk = new ZooKeeper(cluster.connectStrings().get(w % 3), 30_000, e -> {
        if (e.getState() == Watcher.Event.KeeperState.SyncConnected) {
          connected.countDown();
        }
      });
      sessions.add(zk);
      if (!connected.await(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("ZooKeeper session " + w + " did not connect within 30 s");
      }
      arm(zk);
    }
    awaitArmed();
  }

  private void arm(ZooKeeper zk) {
    Watcher watcher = new Watcher() {
      @Override
      public void process(WatchedEvent e) {
        if (e.getType() == Event.EventType.NodeDataChanged) {
          String key = current;
          if (key != null) {
            sink.seen(key);
          }
          zk.getData(NODE, this, (rc, path, ctx, data, stat) -> armed.incrementAndGet(), null);
        }
      }
    };
    zk.getData(NODE, watcher, (rc, path, ctx, data, stat) -> armed.incrementAndGet(), null);
  }

  private void awaitArmed() throws InterruptedException {
    BenchSupport.awaitCount(armed::get, watchers, "ZooKeeper watches armed");
  }

  @Override
  public void prepare(List<String> keys) {}

  @Override
  public void announce(String key) throws Exception {
    current = key;
    armed.set(0);
    cluster.session(0).setData(NODE, key.getBytes(StandardCharsets.UTF_8), -1);
  }

  @Override
  public void settle(String key) throws InterruptedException {
    awaitArmed();
  }

  @Override
  public void close() {
    for (ZooKeeper zk : sessions) {
      try {
        zk.close(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    cluster.close();
  }
}
