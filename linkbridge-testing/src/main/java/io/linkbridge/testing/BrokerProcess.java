package io.linkbridge.testing;

import static org.awaitility.Awaitility.await;

import io.linkbridge.Peer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** One {@link BrokerMain} child JVM: start it, talk to it, SIGKILL it. */
public final class BrokerProcess implements AutoCloseable {
  /** What a {@code status} command answers. */
  public record Status(String leader, boolean isLeader, long revision, long checksum, int instances) {}

  private final Process process;
  private final Path log;
  private final PrintStream in;
  private final BlockingQueue<String> replies = new LinkedBlockingQueue<>();
  private final Set<String> acked;
  private volatile boolean ready;

  private BrokerProcess(Process process, Path log, Set<String> acked) {
    this.process = process;
    this.log = log;
    this.acked = acked;
    this.in = new PrintStream(process.getOutputStream(), true, StandardCharsets.UTF_8);
    Thread reader = new Thread(this::readLoop, "broker-process-reader");
    reader.setDaemon(true);
    reader.start();
  }

  /** Starts broker {@code id}; acknowledged writes it reports are added to {@code acked}. */
  public static BrokerProcess start(String id, Path dataDir, List<Peer> peers, Path log, Set<String> acked) {
    return start(id, dataDir, null, peers, log, acked);
  }

  /** Starts broker {@code id} serving its API on {@code api} (host:port), or none when null. */
  public static BrokerProcess start(String id, Path dataDir, String api, List<Peer> peers, Path log, Set<String> acked) {
    return start(id, dataDir, api, List.of(), peers, log, acked);
  }

  /**
   * Starts broker {@code id} with {@code settings} such as {@code "electionTimeout=1500ms"},
   * {@code "heartbeatInterval=100ms"}, {@code "agentTimeout=400ms"} (see {@link BrokerMain}).
   */
  public static BrokerProcess start(String id, Path dataDir, String api, List<String> settings, List<Peer> peers, Path log, Set<String> acked) {
    List<String> args = new ArrayList<>();
    args.add(id);
    args.add(dataDir.toString());
    if (api != null) {
      args.add("api=" + api);
    }
    args.addAll(settings);
    peers.forEach(p -> args.add(p.id() + "=" + p.raftAddress()));
    try {
      Process p = new ProcessBuilder(JavaCommand.of("256m", BrokerMain.class, args)).redirectError(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
      return new BrokerProcess(p, log, acked);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void readLoop() {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        if (line.startsWith("ack ")) {
          acked.add(line.substring(4));
        } else if (line.equals("ready")) {
          ready = true;
        } else {
          replies.add(line);
        }
      }
    } catch (IOException e) {
      // the process died: nothing more to read
    }
  }

  /** The last {@code lines} lines of a file, or why it cannot be read. */
  private static String tail(Path file, int lines) {
    try {
      List<String> all = java.nio.file.Files.readAllLines(file, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException | RuntimeException e) {
      return "(not readable: " + e + ")";
    }
  }

  public void awaitReady() {
    await().atMost(Duration.ofSeconds(60)).until(() -> ready || !process.isAlive());
    if (!ready) {
      throw new IllegalStateException("broker process exited with " + process.exitValue() + " before it was ready; the end of its log "
          + log + ":\n" + tail(log, 40));
    }
  }

  public Status status() {
    String[] f = ask("status", "status ").split(" ");
    return new Status(f[1], Boolean.parseBoolean(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]), Integer.parseInt(f[5]));
  }

  /** Shuts the broker down gracefully (agents and watchers move first) and returns once it has terminated (at most 30s). */
  public void shutdownGracefully() {
    ask("shutdown", "terminated");
  }

  public Set<String> ids() {
    String reply = ask("ids", "ids");
    Set<String> ids = ConcurrentHashMap.newKeySet();
    if (reply.length() > 4) {
      ids.addAll(List.of(reply.substring(4).split(",")));
    }
    return ids;
  }

  public void startWriting(String prefix) {
    in.println("write " + prefix);
  }

  public void stopWriting(String prefix) {
    in.println("stop");
    awaitReply("stopped " + prefix);
  }

  private String ask(String command, String replyPrefix) {
    replies.clear();
    in.println(command);
    return awaitReply(replyPrefix);
  }

  private String awaitReply(String prefix) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    try {
      while (System.nanoTime() < deadline) {
        String line = replies.poll(100, TimeUnit.MILLISECONDS);
        if (line != null && line.startsWith(prefix)) {
          return line;
        }
        if (line == null && !process.isAlive()) {
          throw new IllegalStateException("broker process died (exit " + process.exitValue() + ") while waiting for '" + prefix + "'");
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    throw new IllegalStateException("no '" + prefix + "' reply from the broker process within 30s");
  }

  /** SIGKILL: no shutdown hook, no flush. */
  public void kill() {
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** SIGSTOP: the whole process stands still (a GC pause, a stuck VM); its sockets stay open. */
  public void pause() {
    signal("STOP");
  }

  /** SIGCONT after {@link #pause()}. */
  public void resume() {
    signal("CONT");
  }

  private void signal(String name) {
    try {
      int rc = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start().waitFor();
      if (rc != 0) {
        throw new IllegalStateException("kill -" + name + " " + process.pid() + " exited with " + rc);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public long pid() {
    return process.pid();
  }

  /** Waits up to {@code timeout} for the process to exit by itself; returns its exit code. */
  public int awaitExit(Duration timeout) {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException("broker process " + process.pid() + " still runs " + timeout + " later"
            + (ready ? " (it started and is ready)" : ""));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
    return process.exitValue();
  }

  @Override
  public void close() {
    kill();
  }
}
