package io.linkbridge.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;

/**
 * A 3-server ZooKeeper ensemble (Debian's zookeeper package, forceSync on) on loopback, written with
 * {@code create} of persistent znodes through one client session per server.
 */
final class ZooKeeperTarget implements Target {
  private static final String SERVER_CLASSPATH = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar";
  private final List<Process> processes = new ArrayList<>();
  private final List<ZooKeeper> sessions = new ArrayList<>();
  private final List<String> connectStrings = new ArrayList<>();

  @Override
  public String name() {
    return "zookeeper";
  }

  @Override
  public void start(Path dir) throws Exception {
    int[] client = {Ports.free(), Ports.free(), Ports.free()};
    int[] quorum = {Ports.free(), Ports.free(), Ports.free()};
    int[] election = {Ports.free(), Ports.free(), Ports.free()};
    for (int i = 0; i < 3; i++) {
      Path data = Files.createDirectories(dir.resolve("zk" + (i + 1)));
      Files.writeString(data.resolve("myid"), Integer.toString(i + 1));
      StringBuilder cfg = new StringBuilder()
          .append("tickTime=500\ninitLimit=20\nsyncLimit=10\nforceSync=yes\nadmin.enableServer=false\nmaxClientCnxns=0\n")
          .append("dataDir=").append(data).append('\n')
          .append("clientPort=").append(client[i]).append("\nclientPortAddress=127.0.0.1\n");
      for (int j = 0; j < 3; j++) {
        cfg.append("server.").append(j + 1).append("=127.0.0.1:").append(quorum[j]).append(':').append(election[j]).append('\n');
      }
      Path cfgFile = data.resolve("zoo.cfg");
      Files.writeString(cfgFile, cfg);
      processes.add(new ProcessBuilder("java", "-Xmx512m", "-cp", SERVER_CLASSPATH, "org.apache.zookeeper.server.quorum.QuorumPeerMain",
          cfgFile.toString()).redirectErrorStream(true).redirectOutput(data.resolve("server.log").toFile()).start());
    }
    for (int i = 0; i < 3; i++) {
      CountDownLatch connected = new CountDownLatch(1);
      connectStrings.add("127.0.0.1:" + client[i]);
      ZooKeeper zk = new ZooKeeper("127.0.0.1:" + client[i], 30_000, e -> {
        if (e.getState() == Watcher.Event.KeeperState.SyncConnected) {
          connected.countDown();
        }
      });
      if (!connected.await(60, TimeUnit.SECONDS)) {
        throw new IllegalStateException("ZooKeeper server " + (i + 1) + " did not accept a session within 60s; see " + dir);
      }
      sessions.add(zk);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try {
        sessions.get(0).create("/services", new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        break;
      } catch (KeeperException.NodeExistsException e) {
        break;
      } catch (KeeperException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(100);
      }
    }
  }

  @Override
  public void write(int member, String id, byte[] value) throws Exception {
    sessions.get(member % sessions.size()).create("/services/" + id, value, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
  }

  /** The client address of each server. */
  List<String> connectStrings() {
    return connectStrings;
  }

  /** The session this target writes through on server {@code member % 3}. */
  ZooKeeper session(int member) {
    return sessions.get(member % sessions.size());
  }

  @Override
  public void close() {
    for (ZooKeeper zk : sessions) {
      try {
        zk.close(1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    sessions.clear();
    connectStrings.clear();
    processes.forEach(Ports::kill);
    processes.clear();
  }
}
