package io.linkbridge.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.linkbridge.LinkBridgeException;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.registry.RegistryCommand;
import io.linkbridge.internal.registry.RegistryState;
import io.linkbridge.internal.registry.RegistryStateMachine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class SnapshotFilesTest {
  @TempDir Path dir;

  private static RegistryState stateWith(int instances) {
    RegistryStateMachine sm = new RegistryStateMachine();
    for (int i = 0; i < instances; i++) {
      sm.applyAll(List.of(new RegistryCommand.RegisterInstance(ServiceInstance.builder("s").id("i" + i).endpoint("h", 1).metadata("k", "v").build())));
    }
    return sm.state();
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void writeThenRead_sameStateAndChecksum(boolean compress) throws IOException {
    SnapshotFiles files = new SnapshotFiles(dir, 3, compress);
    RegistryState state = stateWith(50);
    Path file = files.write(state);
    RegistryState read = SnapshotFiles.read(file);
    assertThat(read).isEqualTo(state);
    assertThat(read.checksum()).isEqualTo(state.checksum());
  }

  @Test
  void compression_makesRepetitiveStateSmaller() throws IOException {
    RegistryState state = stateWith(200);
    long plain = Files.size(new SnapshotFiles(dir.resolve("plain"), 1, false).write(state));
    long gz = Files.size(new SnapshotFiles(dir.resolve("gz"), 1, true).write(state));
    assertThat(gz).isLessThan(plain / 2);
  }

  @Test
  void retention_keepsOnlyTheNewestFiles() throws IOException {
    SnapshotFiles files = new SnapshotFiles(dir, 2, true);
    for (int n = 1; n <= 4; n++) {
      files.write(stateWith(n));
    }
    assertThat(files.list()).extracting(p -> p.getFileName().toString())
        .containsExactly("registry-00000000000000000003.snap", "registry-00000000000000000004.snap");
    assertThat(files.latest().orElseThrow().revision()).isEqualTo(4);
  }

  @Test
  void corruptFile_readFailsNamingTheFile() throws IOException {
    SnapshotFiles files = new SnapshotFiles(dir, 2, false);
    Path file = files.write(stateWith(5));
    byte[] bytes = Files.readAllBytes(file);
    bytes[bytes.length - 3] ^= 0x5a;
    Files.write(file, bytes);
    assertThatThrownBy(() -> SnapshotFiles.read(file)).satisfiesAnyOf(
        e -> assertThat(e).isInstanceOf(LinkBridgeException.class).hasMessageContaining(file.toString()),
        e -> assertThat(e).isInstanceOf(IOException.class));
  }

  @Test
  void notASnapshot_readFailsWithBadMagic() throws IOException {
    Path file = dir.resolve("registry-00000000000000000001.snap");
    Files.write(file, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
    assertThatThrownBy(() -> SnapshotFiles.read(file)).isInstanceOf(LinkBridgeException.class).hasMessageContaining("bad magic number");
  }
}
