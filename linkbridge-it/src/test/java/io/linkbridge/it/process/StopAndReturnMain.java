package io.linkbridge.it.process;

import io.linkbridge.ServiceInstance;
import io.linkbridge.testing.TestCluster;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Starts three serving brokers in this JVM, writes through each, stops the first with
 * {@code shutdownNow()} and closes the other two, then returns from {@code main}: the JVM must then
 * exit by itself. Argument: a scratch directory. Prints {@code returning} as {@code main} returns;
 * if the JVM is still alive {@value #REPORT_AFTER_SECONDS} s later, prints the threads that hold it
 * ({@code alive <name>,...}) from a daemon thread, which cannot hold it itself.
 */
public final class StopAndReturnMain {
  public static final int REPORT_AFTER_SECONDS = 4;

  public static void main(String[] args) throws Exception {
    TestCluster cluster = TestCluster.serving(Path.of(args[0]), 3, b -> b).start();
    for (int i = 0; i < 3; i++) {
      cluster.node(i).registry().register(ServiceInstance.builder("orders").id("orders-" + i).endpoint("10.0.0.1", 7000 + i).build())
          .get(30, TimeUnit.SECONDS);
    }
    cluster.node(0).shutdownNow();
    cluster.node(1).close();
    cluster.node(2).close();
    ScheduledExecutorService reporter = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "exit-reporter");
      t.setDaemon(true);
      return t;
    });
    reporter.schedule(StopAndReturnMain::reportNonDaemonThreads, REPORT_AFTER_SECONDS, TimeUnit.SECONDS);
    System.out.println("returning");
  }

  private static void reportNonDaemonThreads() {
    System.out.println("alive " + Thread.getAllStackTraces().keySet().stream()
        .filter(t -> !t.isDaemon() && t.isAlive() && !t.getName().equals("DestroyJavaVM"))
        .map(Thread::getName).sorted().collect(Collectors.joining(",")));
  }
}
