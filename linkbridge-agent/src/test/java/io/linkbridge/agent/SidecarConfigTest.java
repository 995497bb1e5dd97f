package io.linkbridge.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.linkbridge.HostAndPort;
import io.linkbridge.InstanceState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SidecarConfigTest {
  private static final String FULL = """
      agent:
        id: greeter-sidecar-1
        brokers: [127.0.0.1:5000, 127.0.0.1:5001]
        connectTimeout: 2s
        shutdownGrace: 500ms
        health:
          interval: 250ms
          timeout: 200ms
          unreachableAfter: 4
        instances:
          - service: greeter
            id: greeter-1
            host: 127.0.0.1
            port: 9000
            weight: 5
            grpcServices: [helloworld.Greeter]
            metadata: {zone: eu-1a, version: "2"}
            healthService: helloworld.Greeter
          - service: greeter
            id: greeter-2
            host: 127.0.0.1
            port: 9001
            healthAddress: 127.0.0.1:9101
      """;

  /** The full example with one line replaced; fails the test if the line is not there. */
  private static String with(String line, String replacement) {
    assertThat(FULL).contains(line);
    return FULL.replace(line, replacement);
  }

  private static void assertRejected(String yaml, String... messageParts) {
    assertThatThrownBy(() -> SidecarConfig.parse(yaml, "agent.yaml")).isInstanceOf(ConfigException.class)
        .satisfies(e -> assertThat(e.getMessage()).startsWith("agent.yaml:").contains(messageParts));
  }

  @Test
  void fullExample_everyKeyRead() {
    SidecarConfig c = SidecarConfig.parse(FULL, "agent.yaml");
    assertThat(c.agentId()).isEqualTo("greeter-sidecar-1");
    assertThat(c.brokers()).containsExactly(new HostAndPort("127.0.0.1", 5000), new HostAndPort("127.0.0.1", 5001));
    assertThat(c.connectTimeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(c.shutdownGrace()).isEqualTo(Duration.ofMillis(500));
    assertThat(c.healthInterval()).isEqualTo(Duration.ofMillis(250));
    assertThat(c.healthTimeout()).isEqualTo(Duration.ofMillis(200));
    assertThat(c.unreachableAfter()).isEqualTo(4);
    SidecarConfig.Checked first = c.instances().get(0);
    assertThat(first.instance().weight()).isEqualTo(5);
    assertThat(first.instance().grpcServices()).containsExactly("helloworld.Greeter");
    assertThat(first.instance().metadata()).containsEntry("zone", "eu-1a").containsEntry("version", "2");
    assertThat(first.instance().state()).isEqualTo(InstanceState.UP);
    assertThat(first.healthAddress()).isEqualTo(new HostAndPort("127.0.0.1", 9000));
    assertThat(first.healthService()).isEqualTo("helloworld.Greeter");
    assertThat(c.instances().get(1).healthAddress()).isEqualTo(new HostAndPort("127.0.0.1", 9101));
    assertThat(c.instances().get(1).healthService()).isEmpty();
  }

  @Test
  void minimal_defaults() {
    SidecarConfig c = SidecarConfig.parse("""
        agent:
          id: a
          brokers: [b1:5000]
          instances:
            - {service: greeter, id: g1, host: 10.0.0.1, port: 9000}
        """, "agent.yaml");
    assertThat(c.connectTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(c.shutdownGrace()).isEqualTo(SidecarConfig.DEFAULT_SHUTDOWN_GRACE);
    assertThat(c.healthInterval()).isEqualTo(Duration.ofSeconds(1));
    assertThat(c.healthTimeout()).isEqualTo(Duration.ofSeconds(1));
    assertThat(c.unreachableAfter()).isEqualTo(3);
  }

  @Test
  void misspeltKey_namedWithLineAndTheKnownKeys() {
    assertRejected(with("    timeout: 200ms", "    timout: 200ms"), "agent.yaml:8:", "agent.health.timout is not a known key",
        "interval, timeout, unreachableAfter");
  }

  @Test
  void portOutOfRange_namedWithItsPath() {
    assertRejected(with("port: 9000", "port: 70000"), "agent.yaml:14:13:", "agent.instances[0].port must be a whole number in 1..65535, was '70000'");
  }

  @Test
  void badDuration_namesTheForm() {
    assertRejected(with("interval: 250ms", "interval: quarter"), "agent.health.interval must be a duration such as 500ms");
  }

  @Test
  void timeoutLongerThanInterval_rejected() {
    assertRejected(with("timeout: 200ms", "timeout: 2s"), "agent.health.timeout must be at most interval (250ms), was 2s");
  }

  @Test
  void badBroker_namedByIndex() {
    assertRejected(with("[127.0.0.1:5000, 127.0.0.1:5001]", "[127.0.0.1:5000, localhost]"), "agent.brokers[1] must be host:port");
  }

  @Test
  void badAgentId_named() {
    assertRejected(with("id: greeter-sidecar-1", "id: greeter sidecar"), "agent.", "greeter sidecar");
  }

  @Test
  void badServiceName_named() {
    assertRejected(with("- service: greeter\n      id: greeter-1", "- service: greet/er\n      id: greeter-1"), "agent.instances[0].service");
  }

  @Test
  void badGrpcServiceName_named() {
    assertRejected(with("[helloworld.Greeter]", "[\"hello world\"]"), "agent.instances[0].grpcServices[0]");
  }

  @Test
  void duplicateInstance_rejected() {
    assertRejected(with("id: greeter-2", "id: greeter-1"), "agent.instances[1].id 'greeter-1' of service 'greeter' is listed twice");
  }

  @Test
  void keySetTwice_rejected() {
    assertRejected(with("  shutdownGrace: 500ms", "  shutdownGrace: 500ms\n  shutdownGrace: 1s"), "agent.shutdownGrace is set twice");
  }

  @Test
  void missingInstances_rejected() {
    assertRejected("agent: {id: a, brokers: [b:1]}", "agent.instances is required");
  }

  @Test
  void emptyInstanceList_rejected() {
    assertRejected("agent: {id: a, brokers: [b:1], instances: []}", "agent.instances must not be empty");
  }

  @Test
  void missingPort_rejected() {
    assertRejected(with("      port: 9001\n", ""), "agent.instances[1].port is required");
  }

  @Test
  void listWhereAValueIsExpected_rejected() {
    assertRejected(with("host: 127.0.0.1\n      port: 9000", "host: [a, b]\n      port: 9000"), "agent.instances[0].host must be a single value, not a list");
  }

  @Test
  void notYaml_rejectedWithTheParserMessage() {
    assertRejected("agent: [unclosed", "not valid YAML");
  }

  @Test
  void emptyFile_rejected() {
    assertRejected("", "is empty");
  }

  @Test
  void noAgentRoot_rejectedNamingTheRoot() {
    assertRejected("broker: {}", "broker is not a known key; the keys here are agent");
  }

  @Test
  void load_missingFile_namesThePath(@TempDir Path dir) {
    assertThatThrownBy(() -> SidecarConfig.load(dir.resolve("nope.yaml"))).isInstanceOf(ConfigException.class).hasMessageContaining("nope.yaml");
  }

  @Test
  void load_readsAFile(@TempDir Path dir) throws Exception {
    Path f = Files.writeString(dir.resolve("agent.yaml"), FULL);
    assertThat(SidecarConfig.load(f).instances()).hasSize(2);
  }

  @Test
  void theExampleInDocsAgentsMd_isValid() throws Exception {
    String doc = Files.readString(Path.of("..", "docs", "agents.md"));
    int start = doc.indexOf("```yaml\n");
    assertThat(start).as("docs/agents.md has a yaml block").isNotNegative();
    String yaml = doc.substring(start + "```yaml\n".length(), doc.indexOf("```", start + 7));
    SidecarConfig c = SidecarConfig.parse(yaml, "docs/agents.md");
    assertThat(c.agentId()).isEqualTo("greeter-sidecar-1");
    assertThat(c.instances()).singleElement().satisfies(i -> assertThat(i.instance().metadata()).containsEntry("zone", "eu-1a"));
  }

  @Test
  void errorMessagesQuotedInDocsAgentsMd_areTheOnesGiven() throws Exception {
    String doc = Files.readString(Path.of("..", "docs", "agents.md"));
    String port = with("port: 9000", "port: 70000");
    String key = with("    timeout: 200ms", "    timout: 200ms");
    for (String yaml : new String[] {port, key}) {
      assertThatThrownBy(() -> SidecarConfig.parse(yaml, "agent.yaml"))
          .satisfies(e -> assertThat(doc).contains("linkbridge-agent: " + e.getMessage()));
    }
  }
}
