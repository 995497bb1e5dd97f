package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.linkbridge.it.process.StopAndReturnMain;
import io.linkbridge.testing.JavaCommand;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Stopped nodes leave nothing behind that keeps a JVM alive: no thread, no port. */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a pipe read cannot be interrupted
class JvmExitTest {
  @TempDir Path dir;

  @Test
  void threeNodesShutDownNowOrClosed_jvmExitsByItselfWithinFiveSecondsOfMainReturning() throws Exception {
    Process jvm = new ProcessBuilder(JavaCommand.of("256m", StopAndReturnMain.class, List.of(dir.resolve("data").toString())))
        .redirectError(dir.resolve("main.log").toFile()).start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(jvm.getInputStream(), StandardCharsets.UTF_8));
      assertThat(out.readLine()).as("the main's first line (its log: %s)", dir.resolve("main.log")).isEqualTo("returning");
      boolean exited = jvm.waitFor(5, TimeUnit.SECONDS);
      // What the main's reporter printed, if the JVM is still alive to print it:
      String report = exited ? "" : CompletableFuture.supplyAsync(() -> readLine(out))
          .completeOnTimeout("(no report)", StopAndReturnMain.REPORT_AFTER_SECONDS, TimeUnit.SECONDS).join();
      assertThat(exited).as("JVM exited within 5 s of main returning; still running: %s", report).isTrue();
      assertThat(jvm.exitValue()).isZero();
    } finally {
      jvm.destroyForcibly();
    }
  }

  private static String readLine(BufferedReader in) {
    try {
      return in.readLine();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
