package io.linkbridge.agent;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code java -jar linkbridge-agent.jar --config agent.yaml}: the sidecar agent for services in any
 * language. SIGTERM or SIGINT makes it leave gracefully (the JVM then exits with 143 or 130, as for
 * any signal); it exits with 2 for a bad command line or configuration (the message names the file,
 * line, key, value and what is allowed) and with 1 when the brokers refuse the agent.
 */
public final class SidecarMain {
  static final String USAGE = "usage: java -jar linkbridge-agent.jar --config <agent.yaml>   (see docs/agents.md)";

  private SidecarMain() {}

  public static void main(String[] args) throws InterruptedException {
    if (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h"))) {
      System.out.println(USAGE);
      return;
    }
    if (args.length != 2 || !args[0].equals("--config")) {
      fail(2, "expected --config <file>, got " + String.join(" ", args) + "\n" + USAGE);
    }
    Path file = Path.of(args[1]);
    if (!Files.isRegularFile(file)) {
      fail(2, "configuration file " + file.toAbsolutePath() + " does not exist\n" + USAGE);
    }
    SidecarConfig config;
    try {
      config = SidecarConfig.load(file);
    } catch (ConfigException e) {
      fail(2, e.getMessage());
      return;
    }
    Sidecar sidecar = new Sidecar(config);
    Runtime.getRuntime().addShutdownHook(new Thread(sidecar::shutdown, "linkbridge-sidecar-shutdown"));
    try {
      sidecar.run();
    } catch (io.linkbridge.RegistrationRejectedException e) {
      fail(1, e.getMessage());
    }
  }

  private static void fail(int status, String message) {
    System.err.println("linkbridge-agent: " + message);
    System.exit(status);
  }
}
