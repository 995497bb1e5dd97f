package io.linkbridge.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.linkbridge.ServiceInstance;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EmbeddingExampleTest {
  @TempDir Path dir;

  @Test
  void example_registersAndReadsBack() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    assertThat(EmbeddingExample.run(dir, "127.0.0.1:" + port)).extracting(ServiceInstance::id).containsExactly("greeter-1");
  }

  @Test
  void readme_showsExactlyTheCompiledExample() throws IOException {
    String source = Files.readString(Path.of("src/main/java/io/linkbridge/examples/EmbeddingExample.java"));
    String snippet = source.substring(source.indexOf("// README:begin") + "// README:begin".length(), source.indexOf("// README:end"));
    String readme = Files.readString(Path.of("../README.md"));
    for (String line : snippet.strip().lines().map(String::strip).toList()) {
      assertThat(readme).as("README line from EmbeddingExample").contains(line);
    }
  }
}
