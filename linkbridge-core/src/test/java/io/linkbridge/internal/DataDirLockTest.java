package io.linkbridge.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.linkbridge.LinkBridgeException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

// The holder's LOCK file is never read in this JVM while it is held: closing any descriptor of it
// would drop the holder's POSIX lock. It is read only after release().
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a pipe read cannot be interrupted
class DataDirLockTest {
  private static final long PID = ProcessHandle.current().pid();

  @TempDir Path dir;

  @Test
  void acquire_whileAnotherProcessHoldsIt_refusedNamingTheDirectoryAndTheHoldersPid() throws Exception {
    DataDirLock lock = DataDirLock.acquire(dir, "broker-1");
    try {
      assertThat(probe()).startsWith("refused dataDir " + dir + " is in use by another broker (pid " + PID + ", broker broker-1, since ")
          .contains(dir.resolve("LOCK").toString(), "stop that broker first, or give each broker a dataDir of its own");
    } finally {
      lock.release();
    }
  }

  @Test
  void acquire_whileAnotherNodeOfThisJvmHoldsIt_refusedAndTheHolderKeepsItsLock() throws Exception {
    DataDirLock lock = DataDirLock.acquire(dir, "broker-1");
    try {
      assertThatThrownBy(() -> DataDirLock.acquire(dir, "broker-2"))
          .isInstanceOf(LinkBridgeException.class)
          .hasMessageStartingWith("dataDir " + dir + " is in use by another node in this JVM (pid " + PID + ", broker broker-1, since ")
          .hasMessageContaining("stop that broker first");
      assertThatThrownBy(() -> DataDirLock.acquire(dir.resolve("."), "broker-1")).as("the same directory by another path")
          .hasMessageContaining("in use by another node in this JVM");
      assertThat(probe()).as("another process, after the refusals here").startsWith("refused ");
    } finally {
      lock.release();
    }
  }

  @Test
  void refusedStart_leavesTheHoldersRecordAsItWas() throws Exception {
    DataDirLock lock = DataDirLock.acquire(dir, "broker-1");
    assertThatThrownBy(() -> DataDirLock.acquire(dir, "broker-2")).isInstanceOf(LinkBridgeException.class);
    assertThat(probe()).startsWith("refused ");
    lock.release();
    assertThat(Files.readString(dir.resolve("LOCK"))).isEqualTo(lock.holder() + "\n");
  }

  @Test
  void release_letsTheNextBrokerLockIt_inThisJvmAndInAnother() throws Exception {
    DataDirLock.acquire(dir, "broker-1").release();
    assertThat(probe()).isEqualTo("locked");
    DataDirLock again = DataDirLock.acquire(dir, "broker-1");
    assertThat(again.holder()).startsWith("pid " + PID + ", broker broker-1, since ");
    again.release();
    again.release(); // idempotent
  }

  /** What {@link LockProbeMain} says when it tries to lock {@link #dir} from a JVM of its own. */
  private String probe() throws IOException, InterruptedException {
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx64m", "-cp",
        System.getProperty("java.class.path"), LockProbeMain.class.getName(), dir.toString())
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line = out.readLine();
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("probe exited").isTrue();
      return line;
    } finally {
      p.destroyForcibly();
    }
  }
}
