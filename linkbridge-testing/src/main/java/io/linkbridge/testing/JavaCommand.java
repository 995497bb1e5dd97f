package io.linkbridge.testing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The command line that runs a main class of this test class path in a JVM of its own. */
public final class JavaCommand {
  private JavaCommand() {}

  /** {@code java -Xmx<maxHeap> -cp <this class path> <main> <args...>}. */
  public static List<String> of(String maxHeap, Class<?> main, List<String> args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx" + maxHeap);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(main.getName());
    cmd.addAll(args);
    return cmd;
  }
}
