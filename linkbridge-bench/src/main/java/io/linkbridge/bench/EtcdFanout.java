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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The same 3-member etcd cluster as {@link EtcdTarget}; each watcher is its own watch stream on the
 * prefix {@code /services/bench/} through the v3 gateway ({@code POST /v3/watch}, one HTTP connection
 * each), spread over the members. One announcement is a put of one key under the prefix.
 */
final class EtcdFanout implements FanoutTarget {
  private static final String PREFIX = "/services/bench/";
  private static final Pattern KEY = Pattern.compile("\"key\":\"([A-Za-z0-9+/=]+)\"");

  private final EtcdTarget cluster = new EtcdTarget();
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
  private final List<CompletableFuture<?>> streams = new ArrayList<>();
  private final AtomicInteger created = new AtomicInteger();
  private int next;

  @Override
  public String name() {
    return "etcd";
  }

  @Override
  public String announcement() {
    return "put of a key under the watched prefix -> watch event";
  }

  @Override
  public void start(Path dir, int watchers, EventSink sink) throws Exception {
    cluster.start(dir);
    Base64.Encoder b64 = Base64.getEncoder();
    String body = "{\"create_request\":{\"key\":\"" + b64.encodeToString(PREFIX.getBytes(StandardCharsets.UTF_8)) + "\",\"range_end\":\""
        + b64.encodeToString("/services/bench0".getBytes(StandardCharsets.UTF_8)) + "\"}}";
    for (int w = 0; w < watchers; w++) {
      URI uri = cluster.clientUris().get(w % 3).resolve("/v3/watch");
      HttpRequest request = HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofString(body)).build();
      streams.add(http.sendAsync(request, HttpResponse.BodyHandlers.fromLineSubscriber(new Flow.Subscriber<String>() {
        @Override
        public void onSubscribe(Flow.Subscription s) {
          s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(String line) {
          if (line.contains("\"created\":true")) {
            created.incrementAndGet();
          }
          Matcher m = KEY.matcher(line);
          while (m.find()) {
            String key = new String(Base64.getDecoder().decode(m.group(1)), StandardCharsets.UTF_8);
            if (key.startsWith(PREFIX)) {
              sink.seen(key.substring(PREFIX.length()));
            }
          }
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onComplete() {}
      })));
    }
    BenchSupport.awaitCount(created::get, watchers, "etcd watches created");
  }

  @Override
  public void prepare(List<String> keys) {}

  @Override
  public void announce(String key) throws Exception {
    cluster.write(next++, key, "DRAINING".getBytes(StandardCharsets.US_ASCII));
  }

  @Override
  public void settle(String key) {}

  @Override
  public void close() {
    streams.forEach(s -> s.cancel(true));
    cluster.close(); // ends the watch connections

  }
}
