package io.linkbridge.bench;

import io.linkbridge.LinkBridge;

/**
 * An agent process for the SIGKILL measurement: {@code BenchAgentMain <agent-id> <instance-id> <broker>...}
 * registers one instance through the given brokers, prints {@code registered} and runs until killed.
 */
public final class BenchAgentMain {
  private BenchAgentMain() {}

  public static void main(String[] args) throws InterruptedException {
    String[] brokers = java.util.Arrays.copyOfRange(args, 2, args.length);
    LinkBridge.agent().id(args[0]).brokers(brokers).register(LinkBridgeFanout.instance(args[1])).start();
    System.out.println("registered");
    System.out.flush();
    Thread.currentThread().join(); // until SIGKILL
  }
}
