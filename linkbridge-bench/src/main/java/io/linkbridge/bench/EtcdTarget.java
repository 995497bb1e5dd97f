package io.linkbridge.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * A 3-member etcd cluster (Debian's etcd-server) on loopback, written through its v3 JSON gateway
 * ({@code POST /v3/kv/put}), one writer per request, spread over the three members.
 */
final class EtcdTarget implements Target {
  private final List<Process> processes = new ArrayList<>();
  private final List<URI> clientUris = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

  @Override
  public String name() {
    return "etcd";
  }

  @Override
  public void start(Path dir) throws Exception {
    int[] client = {Ports.free(), Ports.free(), Ports.free()};
    int[] peer = {Ports.free(), Ports.free(), Ports.free()};
    StringBuilder cluster = new StringBuilder();
    for (int i = 0; i < 3; i++) {
      cluster.append(i == 0 ? "" : ",").append("e").append(i + 1).append("=http://127.0.0.1:").append(peer[i]);
    }
    for (int i = 0; i < 3; i++) {
      String name = "e" + (i + 1);
      processes.add(new ProcessBuilder("etcd", "--name", name, "--data-dir", dir.resolve(name).toString(),
          "--listen-client-urls", "http://127.0.0.1:" + client[i], "--advertise-client-urls", "http://127.0.0.1:" + client[i],
          "--listen-peer-urls", "http://127.0.0.1:" + peer[i], "--initial-advertise-peer-urls", "http://127.0.0.1:" + peer[i],
          "--initial-cluster", cluster.toString(), "--initial-cluster-token", "bench", "--initial-cluster-state", "new",
          "--logger", "zap", "--log-level", "error")
          .redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile()).start());
      clientUris.add(URI.create("http://127.0.0.1:" + client[i]));
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    for (int i = 0; i < 3; ) {
      try {
        write(i, "warmup-probe", new byte[] {1});
        i++;
      } catch (Exception e) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("etcd did not accept writes within 60s; see " + dir, e);
        }
        Thread.sleep(100);
      }
    }
  }

  @Override
  public void write(int member, String id, byte[] value) throws Exception {
    Base64.Encoder b64 = Base64.getEncoder();
    String body = "{\"key\":\"" + b64.encodeToString(("/services/bench/" + id).getBytes(StandardCharsets.UTF_8)) + "\",\"value\":\""
        + b64.encodeToString(value) + "\"}";
    HttpRequest request = HttpRequest.newBuilder(clientUris.get(member % clientUris.size()).resolve("/v3/kv/put")).timeout(Duration.ofSeconds(30))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200 || !response.body().contains("\"header\"")) {
      throw new IllegalStateException("etcd put failed: " + response.statusCode() + " " + response.body());
    }
  }

  /** The client URL of each member ({@code http://127.0.0.1:port}). */
  List<URI> clientUris() {
    return clientUris;
  }

  @Override
  public void close() {
    processes.forEach(Ports::kill);
    processes.clear();
    clientUris.clear();
  }
}
