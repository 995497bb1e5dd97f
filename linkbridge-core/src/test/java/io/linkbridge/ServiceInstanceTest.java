package io.linkbridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ServiceInstanceTest {

  private static ServiceInstance.Builder valid() {
    return ServiceInstance.builder("greeter").id("greeter-1").endpoint("10.0.0.7", 9000);
  }

  @Test
  void builder_allFields_builtAsGiven() {
    ServiceInstance i = valid().metadata("zone", "a").weight(10).grpcService("helloworld.Greeter").build();
    assertThat(i.service()).isEqualTo("greeter");
    assertThat(i.id()).isEqualTo("greeter-1");
    assertThat(i.host()).isEqualTo("10.0.0.7");
    assertThat(i.port()).isEqualTo(9000);
    assertThat(i.metadata()).containsExactly(Map.entry("zone", "a"));
    assertThat(i.weight()).isEqualTo(10);
    assertThat(i.grpcServices()).containsExactly("helloworld.Greeter");
    assertThat(i.state()).isEqualTo(InstanceState.UP);
    assertThat(i.agentId()).isEmpty();
    assertThat(i.takesCalls()).isTrue();
  }

  @Test
  void serviceName_empty_rejectedNamingTheField() {
    assertThatThrownBy(() -> ServiceInstance.builder("")).isInstanceOf(IllegalArgumentException.class).hasMessage("service must not be empty");
  }

  @Test
  void serviceName_tooLong_rejectedWithLength() {
    assertThatThrownBy(() -> ServiceInstance.builder("s".repeat(254)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("service must be at most 253 characters, was 254");
  }

  @Test
  void serviceName_badCharacters_rejectedWithValue() {
    assertThatThrownBy(() -> ServiceInstance.builder("greeter service"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("service may contain only").hasMessageContaining("'greeter service'");
  }

  @Test
  void instanceId_badCharacters_rejected() {
    assertThatThrownBy(() -> valid().id("a/b")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("id may contain only");
  }

  @Test
  void port_zero_rejected() {
    assertThatThrownBy(() -> valid().endpoint("h", 0)).isInstanceOf(IllegalArgumentException.class).hasMessage("port must be in 1..65535, was 0");
  }

  @Test
  void port_above65535_rejected() {
    assertThatThrownBy(() -> valid().endpoint("h", 65536)).isInstanceOf(IllegalArgumentException.class).hasMessage("port must be in 1..65535, was 65536");
  }

  @Test
  void host_blank_rejected() {
    assertThatThrownBy(() -> valid().endpoint(" ", 1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("host must be a host name");
  }

  @Test
  void weight_negative_rejected() {
    assertThatThrownBy(() -> valid().weight(-1)).isInstanceOf(IllegalArgumentException.class).hasMessage("weight must be in 0..10000, was -1");
  }

  @Test
  void weight_zero_allowedButTakesNoCalls() {
    assertThat(valid().weight(0).build().takesCalls()).isFalse();
  }

  @Test
  void metadata_tooManyEntries_rejected() {
    ServiceInstance.Builder b = valid();
    for (int i = 0; i < 65; i++) {
      b.metadata("k" + i, "v");
    }
    assertThatThrownBy(b::build).isInstanceOf(IllegalArgumentException.class).hasMessage("metadata must have at most 64 entries, had 65");
  }

  @Test
  void metadata_keyTooLong_rejected() {
    assertThatThrownBy(() -> valid().metadata("k".repeat(64), "v").build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("metadata key must be 1..63 characters");
  }

  @Test
  void metadata_valueTooLong_rejected() {
    assertThatThrownBy(() -> valid().metadata("k", "v".repeat(513)).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessage("metadata value of 'k' must be 0..512 characters, was 513 characters");
  }

  @Test
  void metadata_over4KiBInAll_rejected() {
    ServiceInstance.Builder b = valid();
    for (int i = 0; i < 10; i++) {
      b.metadata("key" + i, "v".repeat(500));
    }
    assertThatThrownBy(b::build).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("metadata must be at most 4096 bytes");
  }

  @Test
  void grpcService_notQualifiedName_rejected() {
    assertThatThrownBy(() -> valid().grpcService("helloworld/Greeter"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("grpcService may contain only a fully qualified gRPC service name");
  }

  @Test
  void build_withoutId_failsNamingTheFix() {
    assertThatThrownBy(() -> ServiceInstance.builder("greeter").endpoint("h", 1).build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("call id(...)");
  }

  @Test
  void build_withoutEndpoint_failsNamingTheFix() {
    assertThatThrownBy(() -> ServiceInstance.builder("greeter").id("g").build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("call endpoint(host, port)");
  }

  @Test
  void record_isImmutable_copiesItsCollections() {
    Map<String, String> md = new HashMap<>(Map.of("a", "1"));
    ServiceInstance i = new ServiceInstance("s", "i", "h", 1, md, 1, Set.of(), InstanceState.UP, "");
    md.put("b", "2");
    assertThat(i.metadata()).containsOnlyKeys("a");
    assertThatThrownBy(() -> i.metadata().put("c", "3")).isInstanceOf(UnsupportedOperationException.class);
  }

  @ParameterizedTest
  @ValueSource(strings = {"a\nb", "a\u0000b", "a/b", "a?b", "user@host", "a b", "[::1]"})
  void host_withCharactersAUrlOrALogLineCouldBeBentWith_rejectedNamingTheValue(String host) {
    assertThatThrownBy(() -> valid().endpoint(host, 1)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("host must be a host name").hasMessageNotContaining("\n");
  }

  @ParameterizedTest
  @ValueSource(strings = {"10.0.0.7", "greeter-1.prod.example.com", "::1", "fe80::1%eth0", "localhost", "my_host"})
  void host_namesAndAddresses_accepted(String host) {
    assertThat(valid().endpoint(host, 1).build().host()).isEqualTo(host);
  }
}
