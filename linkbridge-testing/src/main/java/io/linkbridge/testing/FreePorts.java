package io.linkbridge.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Free loopback ports for tests, taken below the kernel's ephemeral range (Linux: 32768-60999). A
 * port the kernel handed out as "free" from that range may be taken, between the test's pick and its
 * bind, as the source port of any outgoing connection (the brokers connect to each other while a
 * cluster starts), and the bind fails. Ports below it are never used as source ports. Each JVM
 * starts at its own offset and never hands out the same port twice. Thread-safe.
 */
public final class FreePorts {
  private static final int LOW = 20_000;
  private static final int HIGH = 32_000;
  private static final AtomicInteger next = new AtomicInteger((int) (ProcessHandle.current().pid() * 7_919 % (HIGH - LOW)));

  private FreePorts() {}

  public static int next() {
    for (int tried = 0; tried < HIGH - LOW; tried++) {
      int port = LOW + Math.floorMod(next.getAndIncrement(), HIGH - LOW);
      if (free(port)) {
        return port;
      }
    }
    throw new IllegalStateException("no free loopback port in " + LOW + ".." + HIGH);
  }

  private static boolean free(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
